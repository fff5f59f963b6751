package dev.shardline.coordinator.generation;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A submitted request: its ids, a way to cancel it, and its end. */
public interface GenerationHandle {

    /** The coordinator's id of the request (unique per coordinator process). */
    long id();

    /** The request as submitted. */
    GenerationRequest submitted();

    /** The client's own id, or "". */
    String requestId();

    /** Tokens of the prompt after tokenization and the chat template. */
    int promptTokens();

    /** Stops generation and frees its KV blocks; the sink gets {@link GenerationException.Cancelled}. Idempotent. */
    void cancel();

    /** Completes with the {@link Completion}, or exceptionally with a {@link GenerationException}. */
    CompletableFuture<Completion> completion();

    /** Its moves to other pipelines so far (a pipeline was lost or drained while it ran). */
    List<Migration> migrations();
}
