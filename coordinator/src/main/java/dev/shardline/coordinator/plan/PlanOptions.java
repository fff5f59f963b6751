package dev.shardline.coordinator.plan;

import dev.shardline.model.source.WeightSizes;

/**
 * Knobs of the shard planner.
 *
 * @param minKvReserveTokens       KV cache every stage must keep room for, in tokens (per layer it holds)
 * @param kvBytesPerTokenPerLayer  KV bytes one token takes in one layer; 0 = derive from the config
 *                                 ({@code KvCache.bytesPerTokenPerLayer}: keys and values in f32)
 * @param maxStagesPerPipeline     most stages in one pipeline; 0 = no limit
 * @param replicas                 pipelines to form; 0 = auto (as many full pipelines as the workers allow)
 * @param timeSlack                how far above the smallest bottleneck (a fraction: 0.01 = 1%) a pipeline's
 *                                 modelled decode time may go when that buys KV headroom; the cost model is not
 *                                 that exact, and the layers this moves off the busiest stage also shorten prefill,
 *                                 where the head costs little (it runs only on the rows that sample)
 * @param weightSizes              the model's real weight bytes as stored (a quantized GGUF); null = derive from
 *                                 the config at the planner's bytes per weight
 */
public record PlanOptions(long minKvReserveTokens, long kvBytesPerTokenPerLayer, int maxStagesPerPipeline,
                          int replicas, double timeSlack, WeightSizes weightSizes) {

    public static final long DEFAULT_KV_RESERVE_TOKENS = 4096;
    /**
     * 1%: on two equal workers `small` (its head costs 9.1 layers) gets 16 + 8 layers instead of 17 + 7 (0.6% above
     * the optimum by the cost model); QwQ-32B keeps 33 + 31, since 32 + 32 would cost 1.8% of decode speed, which on
     * a GPU, where decode is bound by bytes as the model assumes, is real.
     */
    public static final double DEFAULT_TIME_SLACK = 0.01;

    public PlanOptions {
        if (minKvReserveTokens < 1) {
            throw new IllegalArgumentException("min KV reserve must be at least 1 token, got " + minKvReserveTokens);
        }
        if (!(timeSlack >= 0 && timeSlack <= 1)) {
            throw new IllegalArgumentException("time slack must be within [0, 1], got " + timeSlack);
        }
        if (kvBytesPerTokenPerLayer < 0 || maxStagesPerPipeline < 0 || replicas < 0) {
            throw new IllegalArgumentException("plan options must not be negative: kvBytesPerTokenPerLayer "
                    + kvBytesPerTokenPerLayer + ", maxStagesPerPipeline " + maxStagesPerPipeline + ", replicas " + replicas);
        }
    }

    /** 4096 tokens of KV reserve, f32 KV, no stage limit, automatic replicas, 1% time slack. */
    public static PlanOptions defaults() {
        return new PlanOptions(DEFAULT_KV_RESERVE_TOKENS, 0, 0, 0, DEFAULT_TIME_SLACK, null);
    }

    public PlanOptions withMinKvReserveTokens(long tokens) {
        return new PlanOptions(tokens, kvBytesPerTokenPerLayer, maxStagesPerPipeline, replicas, timeSlack, weightSizes);
    }

    public PlanOptions withKvBytesPerTokenPerLayer(long bytes) {
        return new PlanOptions(minKvReserveTokens, bytes, maxStagesPerPipeline, replicas, timeSlack, weightSizes);
    }

    public PlanOptions withMaxStagesPerPipeline(int stages) {
        return new PlanOptions(minKvReserveTokens, kvBytesPerTokenPerLayer, stages, replicas, timeSlack, weightSizes);
    }

    public PlanOptions withReplicas(int n) {
        return new PlanOptions(minKvReserveTokens, kvBytesPerTokenPerLayer, maxStagesPerPipeline, n, timeSlack, weightSizes);
    }

    public PlanOptions withTimeSlack(double slack) {
        return new PlanOptions(minKvReserveTokens, kvBytesPerTokenPerLayer, maxStagesPerPipeline, replicas, slack,
                weightSizes);
    }

    /** Plans with the model's real weight bytes (quantized GGUF layers are smaller and differ from one another). */
    public PlanOptions withWeightSizes(WeightSizes sizes) {
        return new PlanOptions(minKvReserveTokens, kvBytesPerTokenPerLayer, maxStagesPerPipeline, replicas, timeSlack,
                sizes);
    }
}
