package dev.shardline.coordinator.generation;

/**
 * Sees every request's life as it happens, whatever front end submitted it (metrics). Registered with
 * {@link GenerationService#observe}. Its methods run on the cluster's threads, some under a pipeline's lock: they
 * must be quick, must never block and must not throw.
 */
public interface GenerationObserver {

    /** Nothing. */
    GenerationObserver NONE = new GenerationObserver() { };

    /** The request's first micro-batch went out, {@code queueNanos} after it arrived. */
    default void onScheduled(GenerationHandle request, long queueNanos) {
    }

    /**
     * A token was generated: {@code index} 0 is the first ({@code gapNanos} = time since arrival, the time to first
     * token), later ones give the time since the previous token.
     */
    default void onToken(GenerationHandle request, int index, long gapNanos) {
    }

    /** The request's sequence was preempted (its KV blocks taken back, to be recomputed). */
    default void onPreempted(GenerationHandle request) {
    }

    /** The request ended normally (stop or length). */
    default void onCompleted(GenerationHandle request, Completion completion) {
    }

    /** The request ended otherwise, after {@code generatedTokens} tokens. */
    default void onFailed(GenerationHandle request, GenerationException error, int generatedTokens) {
    }
}
