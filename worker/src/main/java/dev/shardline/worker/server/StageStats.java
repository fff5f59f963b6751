package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.StageLoad;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of one assignment's stage, updated by the stream and compute threads, read by status and heartbeats. */
final class StageStats {
    private final long startNanos = System.nanoTime();
    private final AtomicLong computeNanos = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong bytesReceived = new AtomicLong();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong chunksSent = new AtomicLong();
    private final AtomicLong largestMessageSent = new AtomicLong();
    private long beatNanos = startNanos;   // guarded by this (heartbeat thread only)
    private long beatCompute;

    void computed(long nanos) {
        computeNanos.addAndGet(nanos);
        steps.incrementAndGet();
    }

    void received(long bytes) {
        bytesReceived.addAndGet(bytes);
    }

    /** A message of serializedBytes went downstream, carrying activationBytes of hidden state. */
    void sent(int serializedBytes, long activationBytes, boolean chunk) {
        bytesSent.addAndGet(activationBytes);
        if (chunk) {
            chunksSent.incrementAndGet();
        }
        largestMessageSent.accumulateAndGet(serializedBytes, Math::max);
    }

    long chunksSent() {
        return chunksSent.get();
    }

    long largestMessageSent() {
        return largestMessageSent.get();
    }

    /** Load since the assignment started. */
    StageLoad sinceStart(int queued) {
        return load(fraction(computeNanos.get(), System.nanoTime() - startNanos), queued);
    }

    /** Load with the busy fraction since the previous call (heartbeats). */
    synchronized StageLoad sinceLastBeat(int queued) {
        long now = System.nanoTime();
        long compute = computeNanos.get();
        double busy = fraction(compute - beatCompute, now - beatNanos);
        beatNanos = now;
        beatCompute = compute;
        return load(busy, queued);
    }

    private StageLoad load(double busy, int queued) {
        return StageLoad.newBuilder()
                .setBusyFraction(busy)
                .setMicroBatchesQueued(queued)
                .setStepsCompleted(steps.get())
                .setActivationBytesReceived(bytesReceived.get())
                .setActivationBytesSent(bytesSent.get())
                .build();
    }

    private static double fraction(long busy, long wall) {
        return wall <= 0 ? 0 : Math.min(1.0, Math.max(0.0, (double) busy / wall));
    }
}
