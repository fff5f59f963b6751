package dev.shardline.coordinator.http;

/**
 * Where a responder writes its answer: an HTTP response ({@link ResponseChannel}), or a captured body for a batch
 * result line ({@link BatchCalls}), so a batch result's body is exactly what the HTTP API returns.
 */
interface AnswerChannel {
    /** The streamed answer begins: its status and headers can go out now (streaming only). */
    default void open() {
    }

    /** An SSE chunk (streaming only). */
    void write(String chunk) throws InterruptedException;

    /** The whole answer (or, after SSE chunks, the last chunk). */
    void end(int status, String contentType, String body);

    /** An error answer. */
    void fail(ApiError e);
}
