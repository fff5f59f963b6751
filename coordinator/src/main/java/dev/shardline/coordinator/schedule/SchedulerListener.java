package dev.shardline.coordinator.schedule;

import dev.shardline.model.engine.FinishReason;

/**
 * Sees what the scheduler does to sequences, on the thread that calls the scheduler, so the API layer can stream.
 * Callbacks may call {@link Scheduler#cancel(long)}.
 */
public interface SchedulerListener {

    /** A token was appended; {@code index} counts generated tokens from 0. */
    default void onToken(long sequenceId, int tokenId, float logprob, int index) {
    }

    /** A token was appended, with everything the last stage reported for it; by default {@link #onToken}. */
    default void onSampled(long sequenceId, SampledTokenResult result, int index) {
        onToken(sequenceId, result.tokenId(), result.logprob(), index);
    }

    /** The sequence ended (its blocks are free); the stop token, if any, was reported by {@link #onToken} first. */
    default void onFinished(long sequenceId, FinishReason reason, int generatedCount) {
    }

    /** The sequence lost its KV blocks to a more important one and will be recomputed. */
    default void onPreempted(long sequenceId) {
    }

    SchedulerListener NONE = new SchedulerListener() {
    };
}
