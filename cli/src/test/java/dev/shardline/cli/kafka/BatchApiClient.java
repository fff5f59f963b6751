package dev.shardline.cli.kafka;

import dev.shardline.model.json.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The OpenAI Batch API as a client sees it, over java.net.http and OpenAI's documented shapes (multipart file
 * upload, JSON objects): what the OpenAI SDKs send.
 */
final class BatchApiClient {
    record Answer(int status, String body) {
        Map<String, Object> json() {
            return Json.parseObject(body);
        }
    }

    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;

    BatchApiClient(String baseUrl) {
        this.base = baseUrl + "/v1";
    }

    Answer upload(String filename, String purpose, String content) throws IOException, InterruptedException {
        String boundary = "----shardline" + System.nanoTime();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose + "\r\n")
                .getBytes(StandardCharsets.UTF_8));
        out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                + "\"\r\nContent-Type: application/jsonl\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(content.getBytes(StandardCharsets.UTF_8));
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return send(HttpRequest.newBuilder(URI.create(base + "/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray())).build());
    }

    Answer post(String path, Object body) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body == null ? "" : Json.write(body))).build());
    }

    Answer get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET().build());
    }

    Answer delete(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE().build());
    }

    /** Polls a batch until its status is one of {@code done}; returns it. */
    Map<String, Object> await(String batchId, long waitMs, String... done) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + waitMs;
        while (true) {
            Map<String, Object> b = get("/batches/" + batchId).json();
            for (String d : done) if (d.equals(b.get("status"))) return b;
            if (System.currentTimeMillis() > deadline) throw new AssertionError("batch " + batchId + " still " + b);
            Thread.sleep(200);
        }
    }

    private Answer send(HttpRequest r) throws IOException, InterruptedException {
        HttpResponse<String> a = http.send(r, HttpResponse.BodyHandlers.ofString());
        return new Answer(a.statusCode(), a.body());
    }
}
