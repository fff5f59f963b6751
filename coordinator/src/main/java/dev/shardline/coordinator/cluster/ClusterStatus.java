package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.coordinator.plan.PipelinePlan;
import dev.shardline.coordinator.plan.StagePlan;

import java.util.List;

/**
 * The cluster at one moment, for status APIs: epoch, target, every pipeline with its state and load, the workers,
 * the pool, the demand waiting for a pipeline, life-time counters and readiness.
 */
public record ClusterStatus(long epoch, int targetPipelines, List<Pipeline> pipelines, List<RegisteredWorker.Snapshot> workers,
                            List<String> pool, int waitingRequests, long waitingTokens, Counters counters,
                            boolean ready) {

    /** One pipeline; {@code runner} is null while it forms or after it failed. */
    public record Pipeline(int id, long epoch, PipelineState state, List<StagePlan> stages, int kvBlocks, int blockSize,
                           String reason, PipelineRunner.Snapshot load, PipelineRunner runner) {

        /** Its stages as a plan (for {@code ShardPlan.describe()}). */
        public PipelinePlan plan() {
            return new PipelinePlan(id, stages);
        }
    }

    /** Counters since the coordinator started. */
    public record Counters(long migrationsAfterFailure, long migrationsAfterDrain, long pipelinesFormed,
                           long pipelinesFailed, long pipelinesDrained, long requestsTimedOutWaiting,
                           long requestsCancelledSlowConsumer, long migrationReprefillTokens) {
    }

    /** Requests queued on pipelines and waiting for one, and running sequences. */
    public int queueDepth() {
        return waitingRequests + pipelines.stream().filter(p -> p.load() != null).mapToInt(p -> p.load().waiting()).sum();
    }

    public int runningSequences() {
        return pipelines.stream().filter(p -> p.load() != null).mapToInt(p -> p.load().running()).sum();
    }

    public long serving() {
        return pipelines.stream().filter(p -> p.state() == PipelineState.SERVING).count();
    }

    /** Pipelines that process tokens now: serving, and draining (their running sequences finish). */
    public int working() {
        return (int) pipelines.stream().filter(p -> p.state() == PipelineState.SERVING || p.state() == PipelineState.DRAINING).count();
    }

    /** Fraction of the serving pipelines' KV blocks in use, 0 to 1 (0 with no serving pipeline). */
    public double kvUsage() {
        long used = 0;
        long total = 0;
        for (Pipeline p : pipelines) {
            if (p.state() != PipelineState.SERVING || p.load() == null) continue;
            used += p.load().blocksUsed();
            total += p.load().blocksTotal();
        }
        return total == 0 ? 0 : (double) used / total;
    }
}
