package dev.shardline.coordinator.cluster;

import dev.shardline.model.sampling.SamplingParams;

import java.util.Map;

/**
 * Everything the last stage needs to sample for one sequence, resolved by the coordinator.
 *
 * @param params         temperature, top-p/k, min-p, penalties (the stop conditions stay on the coordinator)
 * @param seed           always set: the draw for position p is keyed by (seed, p)
 * @param promptTokens   tokens before this are the prompt (for the penalties)
 * @param topLogprobs    most likely alternatives to report per token, 0..20
 * @param logitBias      token id -> bias added to its logit
 * @param forcedTokenIds test hook: generated token i is forcedTokenIds[i] while i is below its length
 */
public record SamplerSpec(SamplingParams params, long seed, int promptTokens, int topLogprobs,
                          Map<Integer, Float> logitBias, int[] forcedTokenIds) {

    public SamplerSpec {
        logitBias = Map.copyOf(logitBias);
        forcedTokenIds = forcedTokenIds.clone();
    }

    @Override
    public int[] forcedTokenIds() {
        return forcedTokenIds.clone();
    }
}
