package dev.shardline.coordinator.generation;

/**
 * Where one request's output goes (a front end's stream). Called on the request's own delivery thread, never on
 * the pipeline's: it may block (a transport's flow control), but a consumer that falls behind by more than the
 * request's buffer is cancelled ({@link GenerationException.ConsumerTooSlow}); a blocked call is then interrupted.
 * Deltas come in order; exactly one of {@link #onComplete} or {@link #onError} comes last.
 */
public interface TokenSink {

    /**
     * The request reached a pipeline: its first micro-batch is on its way, so from now on it ends with tokens, or
     * with a failure in the middle of its generation, never with a refusal (overloaded, no pipeline in time). Comes
     * once, before the first delta; a request refused before that gets only {@link #onError}. A streaming front end
     * sends its response head here, so the client knows its request runs (a long prompt's prefill can take a while).
     */
    default void onStarted() throws InterruptedException {
    }

    void onDelta(GenerationDelta delta) throws InterruptedException;

    /** Normal end: stop, length. */
    void onComplete(Completion completion);

    /** Any other end: cancelled, deadline, unavailable, consumer too slow, a failed step. */
    void onError(GenerationException error);
}
