package dev.shardline.worker.stage;

import dev.shardline.model.sampling.SamplingParams;

/**
 * What the last stage needs to sample one sequence, as the coordinator resolved it: the sampler's parameters (seed
 * always set, top log-probs, logit bias), the length of the original prompt (tokens after it are generated output,
 * for the penalties and the forced tokens) and the test hook's forced tokens.
 *
 * @param promptTokens   length of the original prompt; 0 = unknown: the prompt is what the sequence holds at its
 *                       first sample minus the entry's {@code generatedCount}
 * @param forcedTokenIds generated token i < length is forcedTokenIds[i] instead of a sampled one (its log-prob and
 *                       alternatives still come from the logits); empty = none
 */
public record SamplingSetup(SamplingParams params, int promptTokens, int[] forcedTokenIds) {

    public SamplingSetup {
        if (promptTokens < 0) {
            throw new IllegalArgumentException("prompt_tokens must be >= 0, got " + promptTokens);
        }
        forcedTokenIds = forcedTokenIds == null ? new int[0] : forcedTokenIds.clone();
    }

    /** Plain sampling: the prompt length from the entries, nothing forced. */
    public static SamplingSetup of(SamplingParams params) {
        return new SamplingSetup(params, 0, new int[0]);
    }

    @Override
    public int[] forcedTokenIds() {
        return forcedTokenIds.clone();
    }
}
