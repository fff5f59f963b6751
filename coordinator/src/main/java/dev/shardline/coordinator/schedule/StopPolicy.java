package dev.shardline.coordinator.schedule;

/**
 * Caller-supplied stop check run after each appended token that did not already stop on an id, e.g. stop strings
 * (which need the tokenizer: feed the token's text delta to a {@code StopChecker} kept by sequence id).
 */
@FunctionalInterface
public interface StopPolicy {

    /** True ends the sequence with {@code FinishReason.STOP}. */
    boolean shouldStop(long sequenceId, int tokenId);

    StopPolicy NONE = (sequenceId, tokenId) -> false;
}
