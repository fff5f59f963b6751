package dev.shardline.cli;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.cli.kafka.EmbeddedKafka;
import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.tokenizer.QwenTokenizerSource;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.proto.v1.StageLoad;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * {@code ./shardline demo}: creates the {@code small} demo model once (random weights, real tokenizer), starts a
 * local cluster of a coordinator and 2 worker processes (a real 2-stage pipeline over gRPC), prints the shard plan,
 * sends a chat request, streams the answer and the measured throughput, sends the same request over the OpenAI HTTP
 * API, runs a 3-request batch job through an embedded Kafka broker (the OpenAI Batch API), and stops everything.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Create the small demo model if needed, run it on a local 2-stage cluster and chat with it.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--dir", paramLabel = "DIR", description = "where the demo model lives (default: $SHARDLINE_CACHE/models/small)")
    Path dir;

    @Option(names = "--workers", defaultValue = "2", paramLabel = "N")
    int workers;

    @Option(names = "--max-tokens", defaultValue = "48", paramLabel = "N")
    int maxTokens;

    @Option(names = "--message", defaultValue = "Explain pipeline parallelism in one sentence.", paramLabel = "TEXT")
    String message;

    @Option(names = "--no-batch", description = "skip the batch job through an embedded Kafka broker")
    boolean noBatch;

    @Option(names = "--keep", description = "keep the cluster up after the demo (to try the curl line); Ctrl-C stops it")
    boolean keep;

    @Override
    public Integer call() throws InterruptedException {
        Path modelDir = dir != null ? dir : QwenTokenizerSource.cacheRoot().resolve("models").resolve("small");
        if (!Files.exists(modelDir.resolve("config.json"))) {
            say("creating the demo model `small` (Qwen2.5-0.5B shapes, RANDOM weights) in " + modelDir);
            QwenTokenizerSource tok = QwenTokenizerSource.defaults();
            CreateModelCommand.create(DemoPreset.SMALL, -1, modelDir, 1, 1234, tok.tokenizerJson(Progress.lines()),
                    tok.tokenizerConfigJson(Progress.lines()));
        }
        EmbeddedKafka broker = null;
        java.util.Map<String, String> extra = new java.util.LinkedHashMap<>();
        if (!noBatch) {
            Path kafkaDir = QwenTokenizerSource.cacheRoot().resolve("kafka-demo");
            say("starting an embedded Kafka broker for batch jobs (data in " + kafkaDir + ")");
            broker = EmbeddedKafka.start(kafkaDir, 0);
            extra.put("kafka-bootstrap", broker.bootstrap());
        }
        say("starting a local cluster: 1 coordinator + " + workers + " worker processes on " + modelDir);
        long start = System.nanoTime();
        try (EmbeddedKafka kafka = broker;
             LocalCluster cluster = UpCommand.startLocal(modelDir, workers, 0, 0, "bf16", 1, 0, quietLog(), extra);
             ClusterClient client = new ClusterClient(cluster.address())) {
            say(String.format("cluster ready in %.1f s on %s; shard plan:", (System.nanoTime() - start) / 1e9, cluster.address()));
            cluster.cluster().status().pipelines().forEach(p -> System.out.print(
                    new dev.shardline.coordinator.plan.ShardPlan(List.of(p.plan()), List.of()).describe()));
            say("user: " + message);
            GenerateCommand.StreamPrinter printer = new GenerateCommand.StreamPrinter(System.out, true);
            SamplingParams params = SamplingParams.newBuilder().setMaxTokens(maxTokens).setSeed(1234).build();
            ClusterClient.Result r = client.chat(ClusterClient.chat(null, message, params), printer::print);
            printer.end();
            int n = r.tokenIds().size();
            double ttft = (r.firstTokenNanos() - r.startNanos()) / 1e6;
            double decode = n <= 1 ? 0 : (n - 1) / ((r.endNanos() - r.firstTokenNanos()) / 1e9);
            say(String.format("%d prompt tokens, %d generated (finish: %s): first token after %.0f ms, then %.1f tokens/s",
                    r.finished().getUsage().getPromptTokens(), n, RemoteOutput.finish(r), ttft, decode));
            GetClusterStatusResponse status = client.status();
            for (StageLoad l : status.getStageLoadsList()) {
                say(String.format("stage %d (%s): busy %.0f%% of the time, %d steps", l.getStageIndex(), l.getWorkerId(),
                        100 * l.getBusyFraction(), l.getStepsCompleted()));
            }
            String curl = curl(cluster.httpUrl(), cluster.coordinator().model().id(), message, 16);
            say("the same cluster speaks the OpenAI API on " + cluster.httpUrl() + "/v1; with curl:");
            System.out.println(curl);
            say("that request, sent now: " + tryHttp(cluster.httpUrl(), cluster.coordinator().model().id(), message));
            if (kafka != null) {
                batch(cluster.httpUrl(), cluster.coordinator().model().id());
            }
            if (keep) {
                say("the cluster stays up (gRPC " + cluster.address() + ", HTTP " + cluster.httpUrl() + "); Ctrl-C stops it");
                Shutdown.awaitSignal(cluster);
            }
            say("the weights are random, so the text is meaningless; the pipeline and its speed are real. Stopping.");
        }
        return 0;
    }

    /**
     * A small batch job through Kafka, as the OpenAI Batch API runs it: three chat requests uploaded as a JSONL file,
     * a batch created over them, its progress polled to the end, and its output file read back.
     */
    private static void batch(String url, String model) {
        say("a batch job through Kafka: 3 chat requests as OpenAI batch lines, uploaded to " + url + "/v1/files");
        StringBuilder jsonl = new StringBuilder();
        String[] questions = {"What is a pipeline stage?", "What is a KV cache?", "Why batch requests?"};
        for (int i = 0; i < questions.length; i++) {
            java.util.Map<String, Object> line = new java.util.LinkedHashMap<>();
            line.put("custom_id", "demo-" + (i + 1));
            line.put("method", "POST");
            line.put("url", "/v1/chat/completions");
            line.put("body", chatBody(model, questions[i], 8));
            jsonl.append(dev.shardline.model.json.Json.write(line)).append('\n');
        }
        BatchCommand.Server server = new BatchCommand.Server();
        server.url = url;
        try {
            java.util.Map<String, Object> file = BatchCommand.upload(server, "demo.jsonl",
                    jsonl.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            java.util.Map<String, Object> created = server.post("/v1/batches", java.util.Map.of("input_file_id", file.get("id"),
                    "endpoint", "/v1/chat/completions", "completion_window", "24h"));
            java.util.Map<String, Object> end = BatchCommand.await(server, (String) created.get("id"));
            say("batch " + end.get("id") + " " + end.get("status") + "; its output file, one line per request:");
            if (end.get("output_file_id") != null) {
                String out = server.send(server.request("/v1/files/" + end.get("output_file_id") + "/content").GET().build());
                for (String l : out.lines().toList()) {
                    java.util.Map<String, Object> r = dev.shardline.model.json.Json.parseObject(l);
                    java.util.Map<String, Object> response = asMap(r.get("response"));
                    java.util.Map<String, Object> usage = asMap(asMap(response.get("body")).get("usage"));
                    System.out.println("   " + r.get("custom_id") + ": HTTP " + response.get("status_code") + ", "
                            + usage.get("completion_tokens") + " completion tokens");
                }
            }
            say("with your own file: ./shardline up --kafka embedded, then ./shardline batch submit FILE.jsonl --wait "
                    + "--server URL (results in FILE.jsonl.results.jsonl)");
        } catch (Exception e) {
            say("the batch job failed: " + e.getMessage());
        }
    }

    /** A curl command line for one chat completion against {@code url} (quoted for a POSIX shell). */
    static String curl(String url, String model, String message, int maxTokens) {
        String body = dev.shardline.model.json.Json.write(chatBody(model, message, maxTokens));
        return "curl -s " + url + "/v1/chat/completions -H 'Content-Type: application/json' -d '"
                + body.replace("'", "'\\''") + "'";
    }

    private static java.util.Map<String, Object> chatBody(String model, String message, int maxTokens) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("model", model);
        m.put("messages", List.of(java.util.Map.of("role", "user", "content", message)));
        m.put("max_tokens", maxTokens);
        return m;
    }

    /** Sends what the curl line sends and summarises the answer. */
    private static String tryHttp(String url, String model, String message) {
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(url + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(dev.shardline.model.json.Json.write(
                            chatBody(model, message, 16)))).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) return "HTTP " + r.statusCode() + ": " + r.body();
            java.util.Map<String, Object> usage = asMap(dev.shardline.model.json.Json.parseObject(r.body()).get("usage"));
            return "HTTP 200, a chat.completion with " + usage.get("completion_tokens") + " completion tokens ("
                    + asMap(usage.get("completion_tokens_details")).get("reasoning_tokens") + " of them reasoning)";
        } catch (java.io.IOException e) {
            return "failed: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    @SuppressWarnings("unchecked")
    private static java.util.Map<String, Object> asMap(Object o) {
        return (java.util.Map<String, Object>) o;
    }

    private static void say(String line) {
        System.out.println("== " + line);
        System.out.flush();
    }

    /** Cluster log lines worth showing in a demo: registrations, plan and readiness, not every loaded layer. */
    private static Consumer<String> quietLog() {
        return line -> {
            boolean show = line.contains("registered") || line.contains("ready") || line.contains("assigning")
                    || line.contains("error") || line.contains("failed") || line.contains("lost");
            if (show && !line.contains("loading layers")) {
                System.err.println("   " + line);
            }
        };
    }
}
