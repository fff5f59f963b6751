package dev.shardline.model.sampling;

/**
 * A token and its natural-log probability under the model's own distribution: the log-softmax of the raw logits,
 * before logit bias, penalties and temperature.
 */
public record TokenLogprob(int id, float logprob) {
}
