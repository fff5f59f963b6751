package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.GenerationHandle;
import dev.shardline.coordinator.generation.GenerationService;
import dev.shardline.coordinator.generation.ServedModel;
import dev.shardline.model.json.Json;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * The OpenAI-compatible HTTP API on Vert.x, a thin adapter over the {@link GenerationService}: bodies in, generation
 * requests out, {@link ChatResponder}/{@link CompletionResponder} as the requests' sinks, errors mapped once
 * ({@link OpenAiErrors}). Endpoints: {@code POST /v1/chat/completions}, {@code POST /v1/completions},
 * {@code GET /v1/models}, {@code POST /tokenize}, {@code POST /detokenize} (behind the API keys when any are set),
 * {@code GET /health} (liveness), {@code GET /ready} (readiness), {@code GET /metrics} (Prometheus).
 * The event loops only read bodies and write bytes: parsing, tokenizing and submitting run on virtual threads.
 */
public final class HttpApi implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Largest batch input file upload (OpenAI allows 200 MB; files live in Kafka here, in 512 KiB chunks). */
    static final long FILE_BODY_LIMIT = 200L << 20;

    /** Where and how the HTTP API listens. */
    public record Settings(String host, int port, long maxBodyBytes) {
    }

    private final GenerationService generation;
    private final BooleanSupplier ready;
    private final Supplier<String> metrics;
    private final ApiKeys keys;
    private final Settings settings;
    private final Consumer<String> log;
    private final IntFunction<String> tokenText;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private Vertx vertx;
    private HttpServer server;
    private BatchEndpoints batches;                 // null: no Kafka, the Batch API answers 404

    public HttpApi(GenerationService generation, BooleanSupplier ready, Supplier<String> metrics, ApiKeys keys,
                   Settings settings, Consumer<String> log) {
        this.generation = generation;
        this.ready = ready;
        this.metrics = metrics;
        this.keys = keys;
        this.settings = settings;
        this.log = log;
        this.tokenText = Shapes.tokenText(generation.model().tokenizer());
    }

    /** Serves the OpenAI Batch API ({@code /v1/files}, {@code /v1/batches}) from these endpoints; call before start. */
    public HttpApi withBatches(BatchEndpoints endpoints) {
        this.batches = endpoints;
        return this;
    }

    /** Binds the port (0 picks a free one) and serves; returns the port. */
    public int start() {
        vertx = Vertx.vertx();
        Router router = Router.router(vertx);
        router.route("/v1/*").handler(this::authorize);
        router.route("/tokenize").handler(this::authorize);
        router.route("/detokenize").handler(this::authorize);
        BodyHandler bodies = BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes());
        router.post("/v1/chat/completions").handler(bodies).handler(this::chat);
        router.post("/v1/completions").handler(bodies).handler(this::completions);
        router.get("/v1/models").handler(ctx -> json(ctx, 200, Map.of("object", "list", "data", List.of(modelCard()))));
        router.get("/v1/models/:id").handler(this::model);
        router.post("/tokenize").handler(bodies).handler(ctx -> offload(ctx, () -> Tokenizing.tokenize(Body.parse(body(ctx)),
                generation.model())));
        router.post("/detokenize").handler(bodies).handler(ctx -> offload(ctx, () -> Tokenizing.detokenize(Body.parse(body(ctx)),
                generation.model())));
        BatchRoutes.add(router, () -> batches, workers, FILE_BODY_LIMIT);
        router.get("/health").handler(ctx -> ctx.response().setStatusCode(200).end());
        router.get("/ready").handler(ctx -> {
            boolean r = ready.getAsBoolean();
            json(ctx, r ? 200 : 503, r ? Map.of("ready", true) : Map.of("ready", false, "reason",
                    "no pipeline completed a micro-batch within the readiness window"));
        });
        router.get("/metrics").handler(ctx -> {
            Context context = Vertx.currentContext();
            workers.execute(() -> {
                String text = metrics.get();
                context.runOnContext(v -> ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                        .end(text));
            });
        });
        for (int status : new int[]{400, 404, 405, 413, 500}) {
            router.errorHandler(status, ctx -> {
                ApiError e = ctx.failure() != null && status == 500 ? OpenAiErrors.of(ctx.failure())
                        : OpenAiErrors.status(status, ctx.request().path(), settings.maxBodyBytes());
                if (!ctx.response().ended()) {
                    ctx.response().setStatusCode(e.status()).putHeader("Content-Type", ResponseChannel.JSON).end(e.json());
                }
            });
        }
        server = vertx.createHttpServer(new HttpServerOptions().setHost(settings.host()).setPort(settings.port())
                .setTcpNoDelay(true)).requestHandler(router);
        try {
            server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            throw new IllegalStateException("cannot listen for HTTP on " + settings.host() + ":" + settings.port() + ": "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
        }
        log.accept("OpenAI HTTP API on port " + server.actualPort() + (keys.open()
                ? " (no API keys configured: the API is OPEN to anyone who can reach this port)"
                : " (" + keys.size() + " API key(s) from " + keys.source() + ")"));
        return server.actualPort();
    }

    public int port() {
        return server == null ? -1 : server.actualPort();
    }

    // ---- handlers ----

    private void authorize(RoutingContext ctx) {
        if (keys.open()) {
            ctx.put("tenant", "anonymous");
            ctx.next();
            return;
        }
        String h = ctx.request().getHeader("Authorization");
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            fail(ctx, OpenAiErrors.missingKey());
            return;
        }
        var who = keys.identify(h.substring(7).strip());
        if (who.isEmpty()) {
            fail(ctx, OpenAiErrors.wrongKey());
            return;
        }
        ctx.put("tenant", who.get());
        ctx.next();
    }

    private void chat(RoutingContext ctx) {
        String id = "chatcmpl-" + randomHex();
        start(ctx, id, (body, channel) -> {
            ChatRequests.ChatCall call = ChatRequests.read(body, ctx.get("tenant"), id);
            return new Started(call.request(), new ChatResponder(call, channel, id, now(), generation.model().id(),
                    tokenText), call.fieldNames());
        });
    }

    private void completions(RoutingContext ctx) {
        String id = "cmpl-" + randomHex();
        start(ctx, id, (body, channel) -> {
            CompletionRequests.CompletionCall call = CompletionRequests.read(body, ctx.get("tenant"), id,
                    ids -> generation.model().tokenizer().decode(ids));
            return new Started(call.request(), new CompletionResponder(call, channel, id, now(), generation.model().id(),
                    tokenText), call.fieldNames());
        });
    }

    private record Started(dev.shardline.coordinator.generation.GenerationRequest request,
                           dev.shardline.coordinator.generation.TokenSink sink,
                           java.util.function.UnaryOperator<String> fieldNames) {
    }

    private interface Reader {
        Started read(Body body, ResponseChannel channel);
    }

    /** Reads the body and submits on a virtual thread; a client that goes away cancels its request. */
    private void start(RoutingContext ctx, String id, Reader reader) {
        String text = body(ctx);
        Context context = Vertx.currentContext();
        AtomicReference<GenerationHandle> handle = new AtomicReference<>();
        ResponseChannel channel = new ResponseChannel(context, ctx.response(), () -> {
            GenerationHandle h = handle.get();
            if (h != null) h.cancel();
        });
        workers.execute(() -> {
            Started s;
            try {
                s = reader.read(Body.parse(text), channel);
            } catch (RuntimeException e) {
                channel.fail(OpenAiErrors.of(e));
                return;
            }
            try {
                handle.set(generation.submit(s.request(), s.sink()));
                if (channel.closed()) handle.get().cancel();
            } catch (RuntimeException e) {
                channel.fail(OpenAiErrors.of(e, s.fieldNames()));
            }
        });
    }

    private void model(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        if (!id.equals(generation.model().id())) {
            fail(ctx, OpenAiErrors.of(new dev.shardline.coordinator.generation.GenerationException.ModelNotFound(
                    "the model \"" + id + "\" does not exist; this cluster serves \"" + generation.model().id() + "\"")));
            return;
        }
        json(ctx, 200, modelCard());
    }

    private Map<String, Object> modelCard() {
        ServedModel m = generation.model();
        return Shapes.obj("id", m.id(), "object", "model", "created", now(), "owned_by", "shardline", "root", m.id(),
                "parent", null, "max_model_len", m.config().maxPositionEmbeddings());
    }

    /** Runs a JSON endpoint's work on a virtual thread; its exceptions become OpenAI errors. */
    private void offload(RoutingContext ctx, Supplier<Object> work) {
        Context context = Vertx.currentContext();
        workers.execute(() -> {
            int status = 200;
            String out;
            try {
                out = Json.write(work.get());
            } catch (RuntimeException e) {
                ApiError err = OpenAiErrors.of(e);
                status = err.status();
                out = err.json();
            }
            int s = status;
            String o = out;
            context.runOnContext(v -> ctx.response().setStatusCode(s).putHeader("Content-Type", ResponseChannel.JSON).end(o));
        });
    }

    private static String body(RoutingContext ctx) {
        return ctx.body() == null || ctx.body().isEmpty() ? "" : ctx.body().asString();
    }

    private static void json(RoutingContext ctx, int status, Object body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", ResponseChannel.JSON).end(Json.write(body));
    }

    private static void fail(RoutingContext ctx, ApiError e) {
        ctx.response().setStatusCode(e.status()).putHeader("Content-Type", ResponseChannel.JSON).end(e.json());
    }

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    private static String randomHex() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    @Override
    public void close() {
        workers.shutdownNow();
        if (vertx != null) {
            try {
                vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                log.accept("HTTP API: closing Vert.x: " + e);
            }
        }
    }
}
