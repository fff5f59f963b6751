package dev.shardline.coordinator.cluster;

import dev.shardline.model.engine.FinishReason;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * Where sequences go: straight to the least-loaded serving pipeline they fit, else into the cluster's
 * {@link PendingQueue} until one can take them or their queue timeout passes. Sequences handed back by a pipeline
 * that failed or drains wait here too, keeping their rank.
 */
final class Placement {
    private final PendingQueue pending = new PendingQueue();
    private final ClusterCounters counters;
    private final long queueTimeoutNanos;

    Placement(ClusterCounters counters, long queueTimeoutMillis) {
        this.counters = counters;
        this.queueTimeoutNanos = queueTimeoutMillis * 1_000_000L;
    }

    PendingQueue pending() {
        return pending;
    }

    /** Submits to the least-loaded of {@code routable} that accepts and fits {@code s}; false when none did. */
    static boolean tryPlace(List<PipelineRunner> routable, ClusterSequence s) {
        List<PipelineRunner> candidates = new ArrayList<>(routable);
        candidates.sort(Comparator.comparingInt(PipelineRunner::load));
        for (PipelineRunner r : candidates) {
            if (!r.accepting() || !r.fits(s)) continue;
            try {
                r.submit(s);
                return true;
            } catch (IllegalStateException ignored) {
                // it stopped accepting meanwhile: try the next one
            }
        }
        return false;
    }

    /** Queues a sequence no pipeline took. */
    void queue(ClusterSequence s, long now) {
        pending.add(s, now, queueTimeoutNanos);
    }

    /** Queues the sequences a pipeline handed back (cancelled ones finish, canaries are dropped). */
    void requeue(int fromPipeline, List<ClusterSequence> sequences, ClusterSequence.MigrationCause cause, long now) {
        for (ClusterSequence s : sequences) {
            if (s instanceof CanarySequence) continue;
            if (s.cancelled()) {
                s.onFinished(FinishReason.CANCELLED);
                continue;
            }
            s.onMigrating(fromPipeline, cause);
            if (cause == ClusterSequence.MigrationCause.FAILURE) counters.migrationsFailure++;
            else counters.migrationsDrain++;
            counters.reprefill += s.request().promptTokens().length + s.generated().length;
            pending.add(s, now, queueTimeoutNanos);
        }
    }

    /**
     * Places what waits, in rank order; finishes the cancelled and fails those past their deadline as unavailable,
     * saying why ({@code cause}).
     */
    void dispatch(List<PipelineRunner> routable, long now, Function<ClusterSequence, String> cause) {
        var it = pending.iterator();
        while (it.hasNext()) {
            PendingQueue.Entry e = it.next();
            ClusterSequence s = e.sequence();
            if (s.cancelled()) {
                it.remove();
                s.onFinished(FinishReason.CANCELLED);
            } else if (tryPlace(routable, s)) {
                it.remove();
            } else if (now >= e.deadlineNanos()) {
                it.remove();
                counters.timedOut++;
                s.onFailed(ClusterSequence.Failure.UNAVAILABLE, "no pipeline could serve the request within "
                        + queueTimeoutNanos / 1e9 + " s: " + cause.apply(s));
            }
        }
    }
}
