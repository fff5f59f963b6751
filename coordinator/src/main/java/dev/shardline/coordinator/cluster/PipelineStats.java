package dev.shardline.coordinator.cluster;

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
        this.decodeComputeMs = new double[stages];
        this.decodeQueueMs = new double[stages];
    }

    private final java.util.Map<Long, Long> sentAt = new java.util.HashMap<>();
    private final java.util.Set<Long> decodeSteps = new java.util.HashSet<>();
    private double roundTripMs;
    private long decodeCompleted;
    private double decodeRoundTripMs;
    private final double[] decodeComputeMs;
    private final double[] decodeQueueMs;

    /** {@code decodeOnly}: every entry of the step is one decode token (no prefill chunk). */
    synchronized void sent(long stepId, int batchRows, boolean decodeOnly) {
        steps++;
        rows += batchRows;
        sentAt.put(stepId, System.nanoTime());
        if (decodeOnly) decodeSteps.add(stepId);
    }

    synchronized void completed(long stepId, List<StageTime> timings) {
        completed++;
        Long sentNanos = sentAt.remove(stepId);
        boolean decode = decodeSteps.remove(stepId) && sentNanos != null;
        if (sentNanos != null) roundTripMs += (System.nanoTime() - sentNanos) / 1e6;
        if (decode) {
            decodeCompleted++;
            decodeRoundTripMs += (System.nanoTime() - sentNanos) / 1e6;
        }
        for (StageTime t : timings) {
            if (t.stageIndex() >= 0 && t.stageIndex() < computeMs.length) {
                computeMs[t.stageIndex()] += t.computeMs();
                queueMs[t.stageIndex()] += t.queueMs();
                sendWaitMs[t.stageIndex()] += t.sendWaitMs();
                if (decode) {
                    decodeComputeMs[t.stageIndex()] += t.computeMs();
                    decodeQueueMs[t.stageIndex()] += t.queueMs();
                }
            }
        }
    }

    /** Totals over the decode-only steps so far; the difference of two snapshots describes the steps between. */
    public synchronized DecodeTotals decodeTotals() {
        return new DecodeTotals(decodeCompleted, decodeRoundTripMs, decodeComputeMs.clone(), decodeQueueMs.clone());
    }

    /**
     * Decode-only steps: how many, their summed round trip (coordinator send to result back), each stage's summed
     * compute and the summed time micro-batches waited in the stages' inboxes behind another one. Round trip minus
     * compute is what the hops, queues and the coordinator cost.
     */
    public record DecodeTotals(long steps, double roundTripMs, double[] computeMs, double[] queueMs) {

        public DecodeTotals minus(DecodeTotals earlier) {
            double[] c = computeMs.clone();
            double[] q = queueMs.clone();
            for (int i = 0; i < c.length; i++) {
                c[i] -= earlier.computeMs[i];
                q[i] -= earlier.queueMs[i];
            }
            return new DecodeTotals(steps - earlier.steps, roundTripMs - earlier.roundTripMs, c, q);
        }

        /** "decode step 35.6 ms = compute 14.2 + 16.1 + other 5.3, of which queued 0.1 + 0.2 (64 steps)", per step. */
        public String describe() {
            if (steps == 0) return "no decode-only steps";
            double n = steps;
            StringBuilder sb = new StringBuilder(String.format("decode step %.1f ms = compute ", roundTripMs / n));
            double compute = 0;
            for (int i = 0; i < computeMs.length; i++) {
                sb.append(i == 0 ? "" : " + ").append(String.format("%.1f", computeMs[i] / n));
                compute += computeMs[i];
            }
            sb.append(String.format(" + other %.1f, of which queued in the stages ", (roundTripMs - compute) / n));
            for (int i = 0; i < queueMs.length; i++) {
                sb.append(i == 0 ? "" : " + ").append(String.format("%.1f", queueMs[i] / n));
            }
            return sb.append(String.format(" (%d steps)", steps)).toString();
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
