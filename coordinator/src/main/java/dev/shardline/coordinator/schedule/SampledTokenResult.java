package dev.shardline.coordinator.schedule;

import java.util.List;

/**
 * What the last stage reports for one entry that asked for logits: the sampled token, its log-probability and, when
 * asked for, the most likely tokens at that position (most likely first).
 */
public record SampledTokenResult(long sequenceId, int tokenId, float logprob, List<TopLogprob> top) {

    public SampledTokenResult {
        top = top == null ? List.of() : List.copyOf(top);
    }

    public SampledTokenResult(long sequenceId, int tokenId, float logprob) {
        this(sequenceId, tokenId, logprob, List.of());
    }
}
