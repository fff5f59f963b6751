package dev.shardline.coordinator.cluster;

import java.util.concurrent.atomic.AtomicLong;

/** The cluster's life-time counters (written on the reconciler's thread, except the slow-consumer count). */
final class ClusterCounters {
    volatile long migrationsFailure;
    volatile long migrationsDrain;
    volatile long formed;
    volatile long failed;
    volatile long drained;
    volatile long timedOut;
    final AtomicLong slowConsumers = new AtomicLong();
    volatile long reprefill;

    ClusterStatus.Counters snapshot() {
        return new ClusterStatus.Counters(migrationsFailure, migrationsDrain, formed, failed, drained, timedOut,
                slowConsumers.get(), reprefill);
    }
}
