package dev.shardline.coordinator.cluster;

import dev.shardline.proto.stage.v1.StageTiming;

import java.util.List;

/** Per-pipeline counters: steps and rows sent, and per-stage compute time from the results' timings. */
public final class PipelineStats {
    private final long startNanos = System.nanoTime();
    private final double[] computeMs;
    private final double[] queueMs;
    private final double[] sendWaitMs;
    private long steps;
    private long rows;
    private long completed;

    PipelineStats(int stages) {
        this.computeMs = new double[stages];
        this.queueMs = new double[stages];
        this.sendWaitMs = new double[stages];
    }

    private final java.util.Map<Long, Long> sentAt = new java.util.HashMap<>();
    private double roundTripMs;

    synchronized void sent(long stepId, int batchRows) {
        steps++;
        rows += batchRows;
        sentAt.put(stepId, System.nanoTime());
    }

    synchronized void completed(long stepId, List<StageTiming> timings) {
        completed++;
        Long sentNanos = sentAt.remove(stepId);
        if (sentNanos != null) roundTripMs += (System.nanoTime() - sentNanos) / 1e6;
        for (StageTiming t : timings) {
            if (t.getStageIndex() >= 0 && t.getStageIndex() < computeMs.length) {
                computeMs[t.getStageIndex()] += t.getComputeMs();
                queueMs[t.getStageIndex()] += t.getQueueMs();
                sendWaitMs[t.getStageIndex()] += t.getSendWaitMs();
            }
        }
    }

    /** Fraction of wall time since start that the stage spent computing. */
    public synchronized double busyFraction(int stage) {
        double wallMs = (System.nanoTime() - startNanos) / 1e6;
        return wallMs <= 0 ? 0 : Math.min(1.0, computeMs[stage] / wallMs);
    }

    public synchronized double computeMillis(int stage) {
        return computeMs[stage];
    }

    /** Per stage: mean queue, compute and send-wait milliseconds per completed step, for diagnosis. */
    public synchronized String meanTimings() {
        StringBuilder sb = new StringBuilder(String.format("round trip %.1f ms per step; ", roundTripMs / Math.max(1, completed)));
        for (int i = 0; i < computeMs.length; i++) {
            double n = Math.max(1, completed);
            sb.append(String.format("stage %d: queue %.1f ms, compute %.1f ms, send-wait %.1f ms per step; ", i,
                    queueMs[i] / n, computeMs[i] / n, sendWaitMs[i] / n));
        }
        return sb.toString();
    }

    public synchronized long stepsSent() {
        return steps;
    }

    public synchronized long stepsCompleted() {
        return completed;
    }

    public synchronized long rowsSent() {
        return rows;
    }
}
