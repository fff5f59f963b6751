package dev.shardline.cli.bench;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.parsetools.RecordParser;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * HTTP/1.1 over Vert.x (Netty, like the gRPC client): one event-loop thread, a pooled keep-alive connection per
 * concurrent stream, events split by a record parser and timed on the event loop as they arrive (no thread per
 * request, no hand-off per event).
 */
final class VertxSseClient implements SseClient {
    private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    private final HttpClientAgent http;
    private final String url;

    VertxSseClient(String baseUrl) {
        this.url = baseUrl + "/v1/completions";
        this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
                new PoolOptions().setHttp1MaxSize(256));
    }

    @Override
    public CompletableFuture<List<Long>> stream(int[] prompt, int genTokens) {
        CompletableFuture<List<Long>> done = new CompletableFuture<>();
        Buffer body = Buffer.buffer(SseClient.body(prompt, genTokens));
        http.request(new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url)
                        .putHeader("Content-Type", "application/json"))
                .compose(req -> req.send(body))
                .onFailure(done::completeExceptionally)
                .onSuccess(resp -> {
                    if (resp.statusCode() != 200) {
                        resp.body().onComplete(b -> done.completeExceptionally(new IllegalStateException(
                                "HTTP " + resp.statusCode() + ": " + (b.succeeded() ? b.result() : b.cause()))));
                        return;
                    }
                    List<Long> times = new ArrayList<>(genTokens);
                    RecordParser events = RecordParser.newDelimited("\n\n", event -> {
                        long now = System.nanoTime();
                        String e = event.toString(StandardCharsets.UTF_8);
                        if (!e.startsWith("data: ") || e.equals("data: [DONE]")) return;
                        for (int i = SseClient.tokenCount(e); i > 0; i--) times.add(now);
                    });
                    resp.handler(events);
                    resp.exceptionHandler(done::completeExceptionally);
                    resp.endHandler(v -> done.complete(times));
                });
        return done;
    }

    @Override
    public void close() {
        try {
            http.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // closing anyway: the event loop goes with vertx
        }
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the benchmark ends either way
        }
    }
}
