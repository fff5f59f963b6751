package dev.shardline.cli;

import dev.shardline.cli.client.ClusterClient;
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
 * sends a chat request, streams the answer and the measured throughput, and stops everything.
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

    @Override
    public Integer call() throws InterruptedException {
        Path modelDir = dir != null ? dir : QwenTokenizerSource.cacheRoot().resolve("models").resolve("small");
        if (!Files.exists(modelDir.resolve("config.json"))) {
            say("creating the demo model `small` (Qwen2.5-0.5B shapes, RANDOM weights) in " + modelDir);
            QwenTokenizerSource tok = QwenTokenizerSource.defaults();
            CreateModelCommand.create(DemoPreset.SMALL, -1, modelDir, 1, 1234, tok.tokenizerJson(Progress.lines()),
                    tok.tokenizerConfigJson(Progress.lines()));
        }
        say("starting a local cluster: 1 coordinator + " + workers + " worker processes on " + modelDir);
        long start = System.nanoTime();
        try (LocalCluster cluster = UpCommand.startLocal(modelDir, workers, 0, 0, "bf16", 1, quietLog());
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
            say("the weights are random, so the text is meaningless; the pipeline and its speed are real. Stopping.");
        }
        return 0;
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
