package dev.shardline.coordinator.plan;

/**
 * Knobs of the shard planner.
 *
 * @param minKvReserveTokens       KV cache every stage must keep room for, in tokens (per layer it holds)
 * @param kvBytesPerTokenPerLayer  KV bytes one token takes in one layer; 0 = derive from the config
 *                                 ({@code KvCache.bytesPerTokenPerLayer}: keys and values in f32)
 * @param maxStagesPerPipeline     most stages in one pipeline; 0 = no limit
 * @param replicas                 pipelines to form; 0 = auto (as many full pipelines as the workers allow)
 */
public record PlanOptions(long minKvReserveTokens, long kvBytesPerTokenPerLayer, int maxStagesPerPipeline,
                          int replicas) {

    public static final long DEFAULT_KV_RESERVE_TOKENS = 4096;

    public PlanOptions {
        if (minKvReserveTokens < 1) {
            throw new IllegalArgumentException("min KV reserve must be at least 1 token, got " + minKvReserveTokens);
        }
        if (kvBytesPerTokenPerLayer < 0 || maxStagesPerPipeline < 0 || replicas < 0) {
            throw new IllegalArgumentException("plan options must not be negative: kvBytesPerTokenPerLayer "
                    + kvBytesPerTokenPerLayer + ", maxStagesPerPipeline " + maxStagesPerPipeline + ", replicas " + replicas);
        }
    }

    /** 4096 tokens of KV reserve, f32 KV, no stage limit, automatic replicas. */
    public static PlanOptions defaults() {
        return new PlanOptions(DEFAULT_KV_RESERVE_TOKENS, 0, 0, 0);
    }

    public PlanOptions withMinKvReserveTokens(long tokens) {
        return new PlanOptions(tokens, kvBytesPerTokenPerLayer, maxStagesPerPipeline, replicas);
    }

    public PlanOptions withKvBytesPerTokenPerLayer(long bytes) {
        return new PlanOptions(minKvReserveTokens, bytes, maxStagesPerPipeline, replicas);
    }

    public PlanOptions withMaxStagesPerPipeline(int stages) {
        return new PlanOptions(minKvReserveTokens, kvBytesPerTokenPerLayer, stages, replicas);
    }

    public PlanOptions withReplicas(int n) {
        return new PlanOptions(minKvReserveTokens, kvBytesPerTokenPerLayer, maxStagesPerPipeline, n);
    }
}
