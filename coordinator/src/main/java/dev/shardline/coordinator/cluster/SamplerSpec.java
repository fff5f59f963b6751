package dev.shardline.coordinator.cluster;

import dev.shardline.model.sampling.SamplingParams;


/**
 * Everything the last stage needs to sample for one sequence, resolved by the coordinator.
 *
 * @param params         temperature, top-p/k, min-p, penalties, logit bias, alternatives to report per token (the
 *                       stop conditions stay on the coordinator)
 * @param seed           always set: the draw for position p is keyed by (seed, p)
 * @param promptTokens   tokens before this are the prompt (for the penalties)
 * @param forcedTokenIds test hook: generated token i is forcedTokenIds[i] while i is below its length
 */
public record SamplerSpec(SamplingParams params, long seed, int promptTokens, int[] forcedTokenIds) {

    public SamplerSpec {
        forcedTokenIds = forcedTokenIds.clone();
    }

    @Override
    public int[] forcedTokenIds() {
        return forcedTokenIds.clone();
    }
}
