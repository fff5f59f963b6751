package dev.shardline.operator.autoscale;

/**
 * The autoscaler, a pure function: (targets, current pipelines, one sample of signals, time, memory) -> decision.
 *
 * <p>The recommendation is the largest of: backlog tokens / backlogTokensPerPipeline; backlog tokens / (measured
 * tokens/s per pipeline x targetDrainSeconds); waiting requests / waitingRequestsPerPipeline; one more pipeline
 * when KV usage is above kvUsageHigh; one pipeline while anything runs. It is clamped to [floor, max], where the
 * floor is minPipelines but at least 1 until the cluster has been idle for scaleToZeroAfterSeconds (when that is
 * set). Stabilization as Kubernetes' HPA does it: scale up to the smallest recommendation of the up window, down to
 * the largest of the down window; no change within the cool-down after a change (scaling up from zero excepted:
 * with no pipeline, waiting work is served by nobody). While a pipeline drains, no further scale-down is decided.
 */
public record ScalingPolicy(long backlogTokensPerPipeline, int waitingRequestsPerPipeline, double kvUsageHigh,
                            int targetDrainSeconds, int upWindowSeconds, int downWindowSeconds, int cooldownSeconds,
                            int scaleToZeroAfterSeconds, int minPipelines, int maxPipelines) {

    public Decision decide(int current, Signals s, long nowMs, ScalingState state) {
        long demand = s.demandTokens();
        int byBacklog = ceilDiv(demand, backlogTokensPerPipeline);
        int byDrainTime = s.tokensPerSecondPerPipeline() > 0
                ? (int) Math.min(Integer.MAX_VALUE, Math.ceil(demand / (s.tokensPerSecondPerPipeline() * targetDrainSeconds))) : 0;
        int byWaiting = ceilDiv(s.waitingRequests(), waitingRequestsPerPipeline);
        int byKv = s.kvUsage() > kvUsageHigh && s.servingPipelines() > 0 ? s.servingPipelines() + 1 : 0;
        int byRunning = s.runningSequences() > 0 ? 1 : 0;
        int raw = Math.max(Math.max(byBacklog, byDrainTime), Math.max(Math.max(byWaiting, byKv), byRunning));
        String why = raw == 0 ? "no work" : raw == byBacklog ? "backlog " + demand + " tokens at " + backlogTokensPerPipeline + " per pipeline"
                : raw == byDrainTime ? "backlog " + demand + " tokens drains in " + targetDrainSeconds + " s at "
                        + Math.round(s.tokensPerSecondPerPipeline()) + " tokens/s per pipeline"
                : raw == byWaiting ? s.waitingRequests() + " requests waiting for admission"
                : raw == byKv ? "KV usage " + Math.round(s.kvUsage() * 100) + "% above " + Math.round(kvUsageHigh * 100) + "%"
                : "sequences running";

        boolean idle = s.idle();
        long idleSince = idle ? (state.idleSinceMs() >= 0 ? state.idleSinceMs() : nowMs) : -1;
        boolean zeroAllowed = scaleToZeroAfterSeconds > 0 && idle && nowMs - idleSince >= scaleToZeroAfterSeconds * 1000L;
        int floor = zeroAllowed ? minPipelines : Math.max(minPipelines, Math.min(1, maxPipelines));
        int recommended = Math.clamp(raw, floor, maxPipelines);
        boolean limited = raw > maxPipelines;
        if (zeroAllowed && recommended == 0) why = "idle for " + (nowMs - idleSince) / 1000 + " s";
        else if (recommended > raw) why = why + "; at least " + floor;
        if (limited) why = why + "; limited to maxPipelines " + maxPipelines;

        long keep = Math.max(upWindowSeconds, downWindowSeconds) * 1000L;
        int next = current;
        if (recommended > current) {
            int lowestRecent = recommended;
            for (ScalingState.Sample r : state.recent()) {
                if (nowMs - r.atMs() < upWindowSeconds * 1000L) lowestRecent = Math.min(lowestRecent, r.pipelines());
            }
            boolean heldLongEnough = upWindowSeconds == 0 || state.recent().stream()
                    .anyMatch(r -> nowMs - r.atMs() >= upWindowSeconds * 1000L);
            next = Math.max(current, heldLongEnough ? lowestRecent : current);
        } else if (recommended < current && s.drainingPipelines() == 0) {
            int highestRecent = recommended;
            boolean heldLongEnough = downWindowSeconds == 0;
            for (ScalingState.Sample r : state.recent()) {
                if (nowMs - r.atMs() < downWindowSeconds * 1000L) highestRecent = Math.max(highestRecent, r.pipelines());
                if (nowMs - r.atMs() >= downWindowSeconds * 1000L) heldLongEnough = true;
            }
            next = Math.min(current, heldLongEnough ? highestRecent : current);
        }
        boolean cooling = nowMs - state.lastChangeMs() < cooldownSeconds * 1000L;
        if (next != current && cooling && !(current == 0 && next > 0)) {
            next = current;
            why = why + "; cooling down";
        }
        next = Math.clamp(next, floor, maxPipelines);
        boolean changed = next != current;
        return new Decision(next, raw, why, limited, changed, state.with(nowMs, recommended, keep, changed, idle));
    }

    private static int ceilDiv(long a, long b) {
        return (int) Math.min(Integer.MAX_VALUE, (a + b - 1) / b);
    }
}
