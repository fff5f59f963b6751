package dev.shardline.cli.bench;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.coordinator.cluster.PipelineStats;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * {@code bench --local --http}: one local cluster serves the same load over gRPC and over the OpenAI HTTP API
 * (SSE) in one run: per concurrency C, max(4, 16 / C) runs of C requests per path, in alternating pairs (so
 * drift moves both alike and TTFT has 16 samples); reports the HTTP/gRPC throughput ratio (tokens over summed run
 * time) and the time to first token HTTP adds at p50, per round and, with several rounds, their medians; and the CPU
 * time this process (the coordinator and the benchmark's client; the workers are processes of their own) spends per
 * generated token on each path, which other load on the machine disturbs less than the wall-clock figures.
 */
public final class HttpBench {

    /** What to run. */
    public record Settings(Path model, int workers, int threadsPerWorker, long budgetBytes, int[] concurrency,
                           int promptTokens, int genTokens, int rounds, String httpClient) {
    }

    private final Settings s;
    private final Consumer<String> out;

    public HttpBench(Settings settings, Consumer<String> out) {
        this.s = settings;
        this.out = out;
    }

    public int run() throws Exception {
        Map<String, String> flags = Map.of("pipelines", "1", "activation-dtype", "bf16", "max-kv-blocks", "4096");
        try (LocalCluster cluster = LocalCluster.start(s.model(), s.workers(), 0, s.threadsPerWorker(), s.budgetBytes(),
                flags, true, line -> { });
             ClusterClient grpc = new ClusterClient(cluster.address());
             SseClient http = client(s.httpClient(), cluster.httpUrl())) {
            String url = cluster.httpUrl();
            out.accept(String.format("one cluster of %d worker(s) x %d thr; prompt %d tokens, %d generated per request; "
                    + "gRPC %s, HTTP %s (%s client); %d round(s)", s.workers(), s.threadsPerWorker(), s.promptTokens(),
                    s.genTokens(), cluster.address(), url, s.httpClient(), s.rounds()));
            // warm-up: one untimed round (every concurrency, as many runs per path as a round has), so that the
            // compiler has settled before the first timed run
            for (int c : s.concurrency()) {
                for (int k = 0; k < repeats(c); k++) {
                    ClusterLoad.run(grpc, null, 0, prompts(c, 99 + k), s.genTokens(), "warm-up");
                    HttpLoad.run(http, prompts(c, 99 + k), s.genTokens(), "warm-up");
                }
            }
            List<double[]> perRound = new ArrayList<>();           // per concurrency: throughput ratio, added TTFT p50
            for (int round = 1; round <= s.rounds(); round++) {
                out.accept("\nround " + round + " of " + s.rounds());
                out.accept(LoadRun.header());
                double[] r = new double[2 * s.concurrency().length];
                for (int i = 0; i < s.concurrency().length; i++) {
                    int c = s.concurrency()[i];
                    int[][] p = prompts(c, c * 1000L + round);
                    List<LoadRun> gs = new ArrayList<>();
                    List<LoadRun> hs = new ArrayList<>();
                    long[] cpu = new long[2];                     // this process's CPU time: gRPC, HTTP
                    long[] steps = new long[4];                   // steps and rows sent: gRPC, HTTP
                    for (int k = 0; k < repeats(c); k++) {        // alternating pairs: both paths share the drift
                        int[][] q = k == 0 ? p : prompts(c, c * 1000L + round * 100L + k);
                        if ((round + k) % 2 == 1) {
                            gs.add(timed(cluster, cpu, steps, 0, () -> ClusterLoad.run(grpc, null, 0, q, s.genTokens(), "gRPC")));
                            hs.add(timed(cluster, cpu, steps, 1, () -> HttpLoad.run(http, q, s.genTokens(), "HTTP/SSE")));
                        } else {
                            hs.add(timed(cluster, cpu, steps, 1, () -> HttpLoad.run(http, q, s.genTokens(), "HTTP/SSE")));
                            gs.add(timed(cluster, cpu, steps, 0, () -> ClusterLoad.run(grpc, null, 0, q, s.genTokens(), "gRPC")));
                        }
                    }
                    LoadRun g = report(merge(gs));
                    LoadRun h = report(merge(hs));
                    out.accept(String.format("  CPU of this process (coordinator and client) per generated token: gRPC %.1f us, "
                            + "HTTP %.1f us; pipeline steps per run: gRPC %.1f (%.1f rows each), HTTP %.1f (%.1f)",
                            cpu[0] / 1e3 / g.generatedTokens(), cpu[1] / 1e3 / h.generatedTokens(),
                            steps[0] / (double) gs.size(), steps[1] / (double) Math.max(1, steps[0]),
                            steps[2] / (double) hs.size(), steps[3] / (double) Math.max(1, steps[2])));
                    r[2 * i] = h.throughput() / g.throughput();
                    r[2 * i + 1] = h.ttft(50) - g.ttft(50);
                }
                perRound.add(r);
                describe(r);
            }
            if (perRound.size() > 1) {
                out.accept("\nmedian of " + perRound.size() + " rounds:");
                double[] m = new double[perRound.getFirst().length];
                for (int j = 0; j < m.length; j++) {
                    int k = j;
                    double[] v = perRound.stream().mapToDouble(x -> x[k]).sorted().toArray();
                    m[j] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
                }
                describe(m);
            }
        }
        return 0;
    }

    /** The benchmark's HTTP client: {@code vertx} (Netty, one event loop) or {@code jdk} (java.net.http). */
    static SseClient client(String name, String baseUrl) {
        return switch (name) {
            case "vertx" -> new VertxSseClient(baseUrl);
            case "jdk" -> new JdkSseClient(baseUrl);
            default -> throw new IllegalArgumentException("--http-client must be vertx or jdk, not " + name);
        };
    }

    private interface Run {
        LoadRun run() throws Exception;
    }

    /**
     * Runs one load and adds the CPU time this process spent meanwhile to {@code cpu[slot]}, and the pipeline steps
     * and rows the coordinator sent to {@code steps[2 * slot]} and {@code steps[2 * slot + 1]} (a load whose
     * requests arrive spread out is prefilled in more, smaller steps).
     */
    private static LoadRun timed(LocalCluster cluster, long[] cpu, long[] steps, int slot, Run r) throws Exception {
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        PipelineStats stats = cluster.cluster().status().pipelines().getFirst().runner().stats();
        long before = os.getProcessCpuTime();
        long stepsBefore = stats.stepsSent();
        long rowsBefore = stats.rowsSent();
        LoadRun run = r.run();
        cpu[slot] += os.getProcessCpuTime() - before;
        steps[2 * slot] += stats.stepsSent() - stepsBefore;
        steps[2 * slot + 1] += stats.rowsSent() - rowsBefore;
        return run;
    }

    /**
     * Runs per path at concurrency c: enough that TTFT has 16 samples (C=1: 16 single requests, alternating), and at
     * least 4, so that one slow run at a high concurrency does not decide the round's ratio.
     */
    private static int repeats(int c) {
        return Math.max(4, 16 / c);
    }

    /** Several runs of one path as one row: tokens and seconds summed, every TTFT and ITL sample kept. */
    static LoadRun merge(List<LoadRun> runs) {
        int tokens = 0;
        double seconds = 0;
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        for (LoadRun r : runs) {
            tokens += r.generatedTokens();
            seconds += r.seconds();
            for (double x : r.ttftMillis()) ttft.add(x);
            for (double x : r.itlMillis()) itl.add(x);
        }
        LoadRun first = runs.getFirst();
        return new LoadRun(first.setup() + (runs.size() > 1 ? " x" + runs.size() : ""), first.concurrency(), tokens, seconds,
                LoadRun.toArray(ttft), LoadRun.toArray(itl), new double[0], 0);
    }

    private void describe(double[] r) {
        for (int i = 0; i < s.concurrency().length; i++) {
            out.accept(String.format("C=%d: HTTP/gRPC throughput %.3fx (goal >= 0.97), HTTP adds %+.2f ms to TTFT p50 "
                    + "(goal < 2 ms)", s.concurrency()[i], r[2 * i], r[2 * i + 1]));
        }
    }

    private LoadRun report(LoadRun r) {
        out.accept(r.row());
        return r;
    }

    private int[][] prompts(int c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] p = new int[c][];
        for (int i = 0; i < c; i++) p[i] = r.ints(s.promptTokens(), 0, 151643).toArray();
        return p;
    }

    @Override
    public String toString() {
        return "HttpBench" + Arrays.toString(s.concurrency());
    }
}
