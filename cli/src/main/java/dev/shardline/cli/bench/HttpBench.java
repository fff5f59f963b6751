package dev.shardline.cli.bench;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.cli.cluster.LocalCluster;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * {@code bench --local --http}: one local cluster serves the same load over gRPC and over the OpenAI HTTP API
 * (SSE), row after row in one run (the order alternates by round, so drift moves both alike), and reports per
 * concurrency the HTTP/gRPC throughput ratio and the time to first token HTTP adds at p50; with several rounds
 * also their medians.
 */
public final class HttpBench {

    /** What to run. */
    public record Settings(Path model, int workers, int threadsPerWorker, long budgetBytes, int[] concurrency,
                           int promptTokens, int genTokens, int rounds) {
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
             HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            String url = cluster.httpUrl();
            out.accept(String.format("one cluster of %d worker(s) x %d thr; prompt %d tokens, %d generated per request; "
                    + "gRPC %s, HTTP %s; %d round(s)", s.workers(), s.threadsPerWorker(), s.promptTokens(), s.genTokens(),
                    cluster.address(), url, s.rounds()));
            ClusterLoad.run(grpc, null, 0, prompts(4, 99), 64, "warm-up");
            HttpLoad.run(http, url, prompts(4, 99), 64, "warm-up");
            List<double[]> perRound = new ArrayList<>();           // per concurrency: throughput ratio, added TTFT p50
            for (int round = 1; round <= s.rounds(); round++) {
                out.accept("\nround " + round + " of " + s.rounds());
                out.accept(LoadRun.header());
                double[] r = new double[2 * s.concurrency().length];
                for (int i = 0; i < s.concurrency().length; i++) {
                    int c = s.concurrency()[i];
                    int[][] p = prompts(c, c * 1000L + round);
                    LoadRun g;
                    LoadRun h;
                    if (round % 2 == 1) {
                        g = report(ClusterLoad.run(grpc, null, 0, p, s.genTokens(), "gRPC"));
                        h = report(HttpLoad.run(http, url, p, s.genTokens(), "HTTP/SSE"));
                    } else {
                        h = report(HttpLoad.run(http, url, p, s.genTokens(), "HTTP/SSE"));
                        g = report(ClusterLoad.run(grpc, null, 0, p, s.genTokens(), "gRPC"));
                    }
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
