package dev.shardline.cli;

import dev.shardline.model.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code ./shardline batch submit|status|results|cancel}: OpenAI batch jobs against a coordinator's Batch API
 * (which keeps them in Kafka: {@code up --kafka embedded} on one machine).
 */
@Command(name = "batch", mixinStandardHelpOptions = true, description = "Batch jobs (OpenAI Batch API over Kafka).",
        subcommands = {BatchCommand.Submit.class, BatchCommand.Status.class, BatchCommand.Results.class,
                BatchCommand.Cancel.class})
final class BatchCommand {

    /** Where the coordinator's HTTP API is, and its key. */
    static class Server {
        @Option(names = "--server", defaultValue = "http://127.0.0.1:8000", paramLabel = "URL",
                description = "the coordinator's HTTP API (default http://127.0.0.1:8000)")
        String url;

        @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:OPENAI_API_KEY}",
                description = "API key, if the server needs one (default: $OPENAI_API_KEY)")
        String apiKey;

        private final HttpClient http = HttpClient.newHttpClient();

        HttpRequest.Builder request(String path) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url.replaceAll("/+$", "") + path));
            if (apiKey != null && !apiKey.isBlank()) b.header("Authorization", "Bearer " + apiKey);
            return b;
        }

        String send(HttpRequest r) throws IOException, InterruptedException {
            HttpResponse<String> a = http.send(r, HttpResponse.BodyHandlers.ofString());
            if (a.statusCode() != 200) throw new IllegalStateException(r.method() + " " + r.uri() + ": HTTP " + a.statusCode()
                    + ": " + a.body());
            return a.body();
        }

        Map<String, Object> get(String path) throws IOException, InterruptedException {
            return Json.parseObject(send(request(path).GET().build()));
        }

        Map<String, Object> post(String path, Object body) throws IOException, InterruptedException {
            return Json.parseObject(send(request(path).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body == null ? "" : Json.write(body))).build()));
        }
    }

    @Command(name = "submit", mixinStandardHelpOptions = true, description = "Upload a JSONL file of OpenAI batch lines "
            + "and start a batch; with --wait, show its progress and write the results.")
    static final class Submit implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FILE.jsonl")
        Path file;

        @picocli.CommandLine.Mixin
        Server server = new Server();

        @Option(names = "--endpoint", paramLabel = "URL", description = "default: the url of the file's first line")
        String endpoint;

        @Option(names = "--window", defaultValue = "24h", paramLabel = "DURATION", description = "completion window (24h)")
        String window;

        @Option(names = "--wait", description = "wait for the end with a progress bar, then write the results")
        boolean waitForEnd;

        @Option(names = "--out", paramLabel = "FILE", description = "with --wait: the output lines (default FILE.results.jsonl)")
        Path out;

        @Override
        public Integer call() throws Exception {
            byte[] content = Files.readAllBytes(file);
            String ep = endpoint;
            if (ep == null) {
                String first = new String(content, StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException(file + " has no lines"));
                ep = String.valueOf(Json.parseObject(first).get("url"));
            }
            Map<String, Object> uploaded = upload(server, file.getFileName().toString(), content);
            Map<String, Object> b = server.post("/v1/batches", Map.of("input_file_id", uploaded.get("id"), "endpoint", ep,
                    "completion_window", window));
            String id = (String) b.get("id");
            System.out.println(id);
            System.out.flush();
            if (!waitForEnd) {
                System.err.println("batch " + id + ": " + b.get("status") + " (./shardline batch status " + id + ")");
                return "failed".equals(b.get("status")) ? 1 : 0;
            }
            Map<String, Object> end = await(server, id);
            if ("failed".equals(end.get("status"))) {
                System.err.println("batch " + id + " failed: " + Json.write(end.get("errors")));
                return 1;
            }
            Path target = out != null ? out : Path.of(file + ".results.jsonl");
            Results.write(server, end, target, Path.of(target + ".errors.jsonl"));
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Print a batch object (JSON).")
    static final class Status implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "BATCH_ID")
        String id;

        @picocli.CommandLine.Mixin
        Server server = new Server();

        @Override
        public Integer call() throws Exception {
            System.out.println(Json.writePretty(server.get("/v1/batches/" + id)));
            return 0;
        }
    }

    @Command(name = "results", mixinStandardHelpOptions = true, description = "Write a finished batch's output lines "
            + "(and its error lines) to files.")
    static final class Results implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "BATCH_ID")
        String id;

        @picocli.CommandLine.Mixin
        Server server = new Server();

        @Option(names = "--out", required = true, paramLabel = "FILE")
        Path out;

        @Option(names = "--errors", paramLabel = "FILE", description = "default: FILE.errors.jsonl")
        Path errors;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> b = server.get("/v1/batches/" + id);
            String s = (String) b.get("status");
            if (!s.equals("completed") && !s.equals("cancelled") && !s.equals("expired")) {
                System.err.println("batch " + id + " is " + s + ": its results are not final yet");
                return 1;
            }
            write(server, b, out, errors != null ? errors : Path.of(out + ".errors.jsonl"));
            return 0;
        }

        static void write(Server server, Map<String, Object> b, Path out, Path errors) throws Exception {
            long lines;
            long errorLines = 0;
            Files.writeString(out, b.get("output_file_id") == null ? "" : server.send(server.request("/v1/files/"
                    + b.get("output_file_id") + "/content").GET().build()));
            lines = Files.readAllLines(out).size();
            if (b.get("error_file_id") != null) {
                Files.writeString(errors, server.send(server.request("/v1/files/" + b.get("error_file_id") + "/content").GET().build()));
                errorLines = Files.readAllLines(errors).size();
            }
            System.err.println("batch " + b.get("id") + " " + b.get("status") + ": " + lines + " result(s) in " + out
                    + (errorLines > 0 ? ", " + errorLines + " error(s) in " + errors : ""));
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a batch: unfinished requests end "
            + "with a batch_cancelled error line.")
    static final class Cancel implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "BATCH_ID")
        String id;

        @picocli.CommandLine.Mixin
        Server server = new Server();

        @Override
        public Integer call() throws Exception {
            Map<String, Object> b = server.post("/v1/batches/" + id + "/cancel", null);
            System.err.println("batch " + id + ": " + b.get("status"));
            return 0;
        }
    }

    static Map<String, Object> upload(Server server, String filename, byte[] content) throws IOException, InterruptedException {
        String boundary = "----shardline" + System.nanoTime();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename.replace("\"", "")
                + "\"\r\nContent-Type: application/jsonl\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(content);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return Json.parseObject(server.send(server.request("/v1/files").header("Content-Type", "multipart/form-data; boundary="
                + boundary).POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build()));
    }

    /**
     * Polls until the batch ends, drawing a progress line on stderr: done / total, requests/s, tokens/s (the
     * server's generated-token counter) and the time left at the current rate.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> await(Server server, String id) throws Exception {
        long start = System.nanoTime();
        double tokens0 = generatedTokens(server);
        boolean tty = System.console() != null;
        while (true) {
            Map<String, Object> b = server.get("/v1/batches/" + id);
            Map<String, Object> c = (Map<String, Object>) b.get("request_counts");
            long total = ((Number) c.get("total")).longValue();
            long done = ((Number) c.get("completed")).longValue() + ((Number) c.get("failed")).longValue();
            double secs = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
            double tps = (generatedTokens(server) - tokens0) / secs;
            double rate = done / secs;
            String eta = done == 0 || done >= total ? "-" : String.format("%.0f s", (total - done) / rate);
            int width = 30;
            int filled = total == 0 ? 0 : (int) (width * done / total);
            String bar = "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
            String line = String.format("%s %d / %d  %.1f req/s  %.0f tokens/s  ETA %s  (%s)", bar, done, total, rate, tps,
                    eta, b.get("status"));
            System.err.print(tty ? "\r" + line : line + "\n");
            String s = (String) b.get("status");
            if (s.equals("completed") || s.equals("failed") || s.equals("cancelled") || s.equals("expired")) {
                if (tty) System.err.println();
                return b;
            }
            Thread.sleep(tty ? 500 : 2000);
        }
    }

    /** The server's generated-token counter (Prometheus text), or 0 when /metrics cannot be read. */
    private static double generatedTokens(Server server) {
        try {
            String text = server.send(server.request("/metrics").GET().build());
            double sum = 0;
            for (String l : text.lines().toList()) {
                if (l.startsWith("shardline:generation_tokens_total")) sum += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
            }
            return sum;
        } catch (Exception e) {
            return 0;
        }
    }
}
