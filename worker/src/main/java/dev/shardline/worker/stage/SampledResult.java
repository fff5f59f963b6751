package dev.shardline.worker.stage;

import dev.shardline.model.sampling.TokenLogprob;

import java.util.List;

/**
 * The last stage's answer for one sequence of a micro-batch: the sampled (or forced) token, its log-probability and
 * the most likely alternatives asked for, all from the raw logits.
 */
public record SampledResult(long sequenceId, int tokenId, float logprob, List<TokenLogprob> topLogprobs) {

    public SampledResult {
        topLogprobs = List.copyOf(topLogprobs);
    }
}
