package dev.shardline.coordinator.schedule;

/** What the last stage reports for one entry that asked for logits: the sampled token and its log-probability. */
public record SampledTokenResult(long sequenceId, int tokenId, float logprob) {
}
