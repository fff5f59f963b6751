package dev.shardline.model.sampling;

/**
 * A token chosen by a {@link Sampler}.
 *
 * @param id      the token id
 * @param logprob natural-log probability of the token under the raw logits (log_softmax of the model output, before
 *                penalties, temperature and filtering), like vLLM's default "raw_logprobs"
 */
public record SampledToken(int id, float logprob) {
}
