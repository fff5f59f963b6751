package dev.shardline.coordinator.cluster;

import dev.shardline.model.engine.FinishReason;

/**
 * Where a sequence's tokens go (the API stream of its request). Called on the pipeline's thread with its lock held:
 * implementations must not block.
 */
public interface SequenceSink {
    /** A token was generated; returns true when it completes a stop string (the sequence then stops). */
    boolean onToken(int tokenId, float logprob);

    /** The sequence ended; {@code error} is non-null when a stage failed or the pipeline was lost. */
    void onFinished(FinishReason reason, int generatedTokens, String error);
}
