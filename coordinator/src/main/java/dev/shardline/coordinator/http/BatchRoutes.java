package dev.shardline.coordinator.http;

import dev.shardline.model.json.Json;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.FileUpload;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;

/**
 * The OpenAI Batch API routes, a thin adapter over {@link BatchEndpoints}: {@code POST /v1/files} (multipart, purpose
 * batch), {@code GET /v1/files}, {@code GET /v1/files/{id}}, {@code GET /v1/files/{id}/content},
 * {@code DELETE /v1/files/{id}}, {@code POST /v1/batches}, {@code GET /v1/batches}, {@code GET /v1/batches/{id}},
 * {@code POST /v1/batches/{id}/cancel}. Work runs on virtual threads; errors become OpenAI errors in one place.
 */
final class BatchRoutes {

    static void add(Router router, Supplier<BatchEndpoints> endpoints, ExecutorService workers, long fileLimit) {
        Path uploads;
        try {
            uploads = Files.createTempDirectory("shardline-uploads");
            uploads.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new IllegalStateException("cannot create a directory for uploads: " + e.getMessage(), e);
        }
        BodyHandler files = BodyHandler.create(uploads.toString()).setBodyLimit(fileLimit).setDeleteUploadedFilesOnEnd(true);
        BodyHandler json = BodyHandler.create(false).setBodyLimit(1 << 20);
        router.post("/v1/files").handler(files).handler(ctx -> run(ctx, endpoints, workers, b -> upload(ctx, b)));
        router.get("/v1/files").handler(ctx -> run(ctx, endpoints, workers, b -> list(b.listFiles(), false)));
        router.get("/v1/files/:id").handler(ctx -> run(ctx, endpoints, workers, b -> b.file(ctx.pathParam("id"))));
        router.get("/v1/files/:id/content").handler(ctx -> content(ctx, endpoints, workers));
        router.delete("/v1/files/:id").handler(ctx -> run(ctx, endpoints, workers, b -> b.deleteFile(ctx.pathParam("id"))));
        router.post("/v1/batches").handler(json).handler(ctx -> run(ctx, endpoints, workers, b -> create(ctx, b)));
        router.get("/v1/batches").handler(ctx -> run(ctx, endpoints, workers, b -> {
            String limit = ctx.queryParams().get("limit");
            int n;
            try {
                n = limit == null ? 20 : Integer.parseInt(limit);
            } catch (NumberFormatException e) {
                throw ApiError.invalid("limit", "must be an integer, got " + limit).exception();
            }
            if (n < 1 || n > 100) throw ApiError.invalid("limit", "must be in [1, 100], got " + n).exception();
            List<Map<String, Object>> page = b.listBatches(ctx.queryParams().get("after"), n + 1);
            return list(page.size() > n ? page.subList(0, n) : page, page.size() > n);
        }));
        router.get("/v1/batches/:id").handler(ctx -> run(ctx, endpoints, workers, b -> b.batch(ctx.pathParam("id"))));
        router.post("/v1/batches/:id/cancel").handler(ctx -> run(ctx, endpoints, workers, b -> b.cancel(ctx.pathParam("id"))));
    }

    private interface Work {
        Object on(BatchEndpoints b) throws IOException;
    }

    private static void run(RoutingContext ctx, Supplier<BatchEndpoints> endpoints, ExecutorService workers, Work work) {
        Context context = Vertx.currentContext();
        workers.execute(() -> {
            int status = 200;
            String out;
            try {
                out = Json.write(work.on(available(endpoints)));
            } catch (IOException | RuntimeException e) {
                ApiError err = OpenAiErrors.of(e instanceof IOException io ? new IllegalStateException(io.getMessage(), io) : e);
                status = err.status();
                out = err.json();
            }
            int s = status;
            String o = out;
            context.runOnContext(v -> ctx.response().setStatusCode(s).putHeader("Content-Type", ResponseChannel.JSON).end(o));
        });
    }

    private static void content(RoutingContext ctx, Supplier<BatchEndpoints> endpoints, ExecutorService workers) {
        Context context = Vertx.currentContext();
        workers.execute(() -> {
            try {
                byte[] bytes = available(endpoints).fileContent(ctx.pathParam("id"));
                context.runOnContext(v -> ctx.response().setStatusCode(200).putHeader("Content-Type", "application/jsonl")
                        .end(io.vertx.core.buffer.Buffer.buffer(bytes)));
            } catch (RuntimeException e) {
                ApiError err = OpenAiErrors.of(e);
                context.runOnContext(v -> ctx.response().setStatusCode(err.status())
                        .putHeader("Content-Type", ResponseChannel.JSON).end(err.json()));
            }
        });
    }

    private static BatchEndpoints available(Supplier<BatchEndpoints> endpoints) {
        BatchEndpoints b = endpoints.get();
        if (b == null) {
            throw new BatchEndpoints.BatchApiException(404, "batches_not_configured", null,
                    "the Batch API needs Kafka: start the coordinator with kafka-bootstrap (or ./shardline up --kafka embedded)");
        }
        return b;
    }

    private static Object upload(RoutingContext ctx, BatchEndpoints b) throws IOException {
        String purpose = ctx.request().getFormAttribute("purpose");
        if (purpose == null || purpose.isBlank()) throw ApiError.invalid("purpose", "is required (batch)").exception();
        List<FileUpload> uploads = ctx.fileUploads();
        FileUpload file = uploads.stream().filter(u -> u.name().equals("file")).findFirst().orElseThrow(() ->
                ApiError.invalid("file", "is required: a multipart part named \"file\"").exception());
        byte[] content = Files.readAllBytes(Path.of(file.uploadedFileName()));
        return b.uploadFile(file.fileName(), purpose, content);
    }

    @SuppressWarnings("unchecked")
    private static Object create(RoutingContext ctx, BatchEndpoints b) {
        Body body = Body.parse(ctx.body() == null ? "" : ctx.body().asString());
        body.allowOnly(java.util.Set.of("input_file_id", "endpoint", "completion_window", "metadata"), Map.of());
        Map<String, String> metadata = new LinkedHashMap<>();
        if (body.has("metadata")) {
            if (!(body.raw("metadata") instanceof Map<?, ?> m)) throw ApiError.invalid("metadata", "must be an object").exception();
            if (m.size() > 16) throw ApiError.invalid("metadata", "at most 16 keys, got " + m.size()).exception();
            for (var e : ((Map<String, Object>) m).entrySet()) {
                if (!(e.getValue() instanceof String v) || v.length() > 512 || e.getKey().length() > 64) {
                    throw ApiError.invalid("metadata." + e.getKey(), "values are strings of at most 512 characters "
                            + "(keys at most 64)").exception();
                }
                metadata.put(e.getKey(), v);
            }
        }
        return b.createBatch(body.string("input_file_id"), body.string("endpoint"), body.string("completion_window"),
                metadata);
    }

    private static Map<String, Object> list(List<Map<String, Object>> data, boolean more) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "list");
        m.put("data", data);
        m.put("first_id", data.isEmpty() ? null : data.getFirst().get("id"));
        m.put("last_id", data.isEmpty() ? null : data.getLast().get("id"));
        m.put("has_more", more);
        return m;
    }

    private BatchRoutes() {
    }
}
