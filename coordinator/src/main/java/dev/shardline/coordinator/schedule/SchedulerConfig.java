package dev.shardline.coordinator.schedule;

import dev.shardline.coordinator.plan.PipelinePlan;

/**
 * Sizing of one pipeline's scheduler.
 *
 * @param stages              micro-batches in flight at most: the pipeline's stage count, so every stage can work
 *                            on a different micro-batch
 * @param tokenBudget         rows (decode tokens + prefill chunk tokens) of one micro-batch
 * @param maxRunningSequences sequences admitted at once (holding KV blocks)
 * @param kvBlocks            KV blocks of the pipeline (the same numbering on every stage)
 * @param blockSize           tokens per KV block
 * @param maxContext          longest sequence (prompt + generated), usually the model's max_position_embeddings
 */
public record SchedulerConfig(int stages, int tokenBudget, int maxRunningSequences, int kvBlocks, int blockSize,
                              int maxContext) {

    public SchedulerConfig {
        positive("stages", stages);
        positive("tokenBudget", tokenBudget);
        positive("maxRunningSequences", maxRunningSequences);
        positive("kvBlocks", kvBlocks);
        positive("blockSize", blockSize);
        positive("maxContext", maxContext);
    }

    /** Sized from a planned pipeline: its stage count, and as many blocks as its smallest stage holds. */
    public static SchedulerConfig forPipeline(PipelinePlan plan, int blockSize, int tokenBudget,
                                              int maxRunningSequences, int maxContext) {
        long blocks = Math.min(Integer.MAX_VALUE, plan.kvCapacityTokens() / blockSize);
        return new SchedulerConfig(plan.stageCount(), tokenBudget, maxRunningSequences, (int) blocks, blockSize, maxContext);
    }

    /** Tokens the KV cache holds in all. */
    public long kvCapacityTokens() {
        return (long) kvBlocks * blockSize;
    }

    private static void positive(String field, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException("scheduler config: " + field + " must be > 0, got " + v);
        }
    }
}
