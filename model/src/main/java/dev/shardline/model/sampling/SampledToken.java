package dev.shardline.model.sampling;

import java.util.List;

/**
 * A token chosen by a {@link Sampler}.
 *
 * @param id          the token id
 * @param logprob     natural-log probability of the token under the raw logits (log_softmax of the model output,
 *                    before logit bias, penalties, temperature and filtering), like vLLM's default "raw_logprobs"
 * @param topLogprobs the {@link SamplingParams#topLogprobs()} most likely tokens at this position under the same
 *                    distribution, most likely first (ties: lower id first); empty when none were asked for
 */
public record SampledToken(int id, float logprob, List<TokenLogprob> topLogprobs) {

    public SampledToken {
        topLogprobs = List.copyOf(topLogprobs);
    }

    /** A token without alternatives. */
    public SampledToken(int id, float logprob) {
        this(id, logprob, List.of());
    }
}
