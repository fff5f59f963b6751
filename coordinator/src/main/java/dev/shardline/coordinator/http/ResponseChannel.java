package dev.shardline.coordinator.http;

import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * One HTTP answer, written from a request's delivery thread: every response operation runs on the request's Vert.x
 * context. {@link #write} hands a chunk over without waiting, except while the connection's write queue is full
 * (the client reads slowly): then it waits for the queue to drain, so a slow client holds back only its own request
 * (whose bounded buffer then decides). A stream's status goes out when its request reaches a pipeline ({@link #open})
 * or with the first chunk; a request refused before that (overloaded, no pipeline in time) still gets its own status
 * (429, 503) and JSON error. A client that disconnects fires {@code onClientGone} once.
 */
final class ResponseChannel implements AnswerChannel {
    static final String SSE = "text/event-stream";
    static final String JSON = "application/json";

    private final Context context;
    private final HttpServerResponse response;
    private volatile boolean closed;
    private volatile boolean ended;
    private volatile CompletableFuture<Void> draining;
    private boolean headSent;                 // event loop only

    ResponseChannel(Context context, HttpServerResponse response, Runnable onClientGone) {
        this.context = context;
        this.response = response;
        response.closeHandler(v -> {
            if (ended) return;
            closed = true;
            CompletableFuture<Void> d = draining;
            if (d != null) d.complete(null);
            onClientGone.run();
        });
    }

    boolean closed() {
        return closed;
    }

    /**
     * Sends 200 and the event-stream headers now, before the first chunk: the request reached a pipeline, so it can
     * no longer be refused with a status of its own, and the client learns at once that it runs (a long prefill
     * would otherwise leave it without a byte).
     */
    @Override
    public void open() {
        if (closed || ended) return;
        context.runOnContext(v -> {
            if (closed || headSent) return;
            sendHead();
            response.writeHead();
        });
    }

    private void sendHead() {
        headSent = true;
        response.setStatusCode(200).setChunked(true).putHeader("Content-Type", SSE)
                .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
    }

    /**
     * Writes an SSE chunk (the first one sends 200 and the event-stream headers). The chunk is handed to the event
     * loop and the call returns at once: chunks keep their order (one context), and waiting for each one to be taken
     * would put a thread hand-off and back on every token's path. Only while the connection's write queue is full
     * (found by an earlier chunk) does the call wait, until it drains or the client goes away.
     */
    @Override
    public void write(String chunk) throws InterruptedException {
        if (closed || ended) return;
        CompletableFuture<Void> full = draining;
        if (full != null) {
            try {
                full.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
            if (closed || ended) return;
        }
        context.runOnContext(v -> {
            if (closed) return;                 // not ended: the end is queued after this chunk, in order
            if (!headSent) sendHead();
            response.write(chunk);
            if (response.writeQueueFull() && draining == null) {
                CompletableFuture<Void> d = new CompletableFuture<>();
                draining = d;
                response.drainHandler(x -> {
                    draining = null;
                    d.complete(null);
                });
            }
        });
    }

    /** Ends with a whole body, or (after SSE chunks went out) with a last chunk. */
    @Override
    public void end(int status, String contentType, String body) {
        finish(status, contentType, body, null);
    }

    /**
     * Ends with an error: its status and JSON when nothing was sent yet; after SSE chunks, an error event and
     * {@code [DONE]} (the status is gone by then, as with every OpenAI-compatible server).
     */
    @Override
    public void fail(ApiError e) {
        finish(e.status(), JSON, e.json(), e);
    }

    private void finish(int status, String contentType, String body, ApiError error) {
        if (closed || ended) return;
        ended = true;
        context.runOnContext(v -> {
            if (closed) return;
            if (headSent) {
                response.end(error == null ? body : "data: " + body + "\n\ndata: [DONE]\n\n");
                return;
            }
            response.setStatusCode(status).putHeader("Content-Type", contentType);
            if (error != null && error.retryAfter() != null) {
                response.putHeader("Retry-After", Long.toString(Math.max(1, (error.retryAfter().toMillis() + 999) / 1000)));
            }
            response.end(body);
        });
    }
}
