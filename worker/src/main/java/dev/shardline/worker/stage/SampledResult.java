package dev.shardline.worker.stage;

/** The last stage's answer for one sequence of a micro-batch: the sampled token and its log-probability. */
public record SampledResult(long sequenceId, int tokenId, float logprob) {
}
