package dev.shardline.coordinator.generation;

/** A token, its log-probability under the model's distribution, and its text (the token decoded alone). */
public record TokenLogprob(int tokenId, float logprob, String text) {
}
