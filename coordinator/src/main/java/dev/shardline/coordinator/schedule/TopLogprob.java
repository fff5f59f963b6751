package dev.shardline.coordinator.schedule;

/** One of the most likely tokens at a position, with its log-probability under the model's distribution. */
public record TopLogprob(int tokenId, float logprob) {
}
