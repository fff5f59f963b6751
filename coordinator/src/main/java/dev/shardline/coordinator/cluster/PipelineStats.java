package dev.shardline.coordinator.cluster;

import dev.shardline.proto.stage.v1.StageTiming;

import java.util.List;

/** Per-pipeline counters: steps and rows sent, and per-stage compute time from the results' timings. */
public final class PipelineStats {
    private final long startNanos = System.nanoTime();
    private final double[] computeMs;
    private long steps;
    private long rows;
    private long completed;

    PipelineStats(int stages) {
        this.computeMs = new double[stages];
    }

    synchronized void sent(int batchRows) {
        steps++;
        rows += batchRows;
    }

    synchronized void completed(List<StageTiming> timings) {
        completed++;
        for (StageTiming t : timings) {
            if (t.getStageIndex() >= 0 && t.getStageIndex() < computeMs.length) {
                computeMs[t.getStageIndex()] += t.getComputeMs();
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
