package dev.shardline.cli;

import dev.shardline.cli.bench.ClusterLoad;
import dev.shardline.cli.bench.LoadRun;
import dev.shardline.cli.bench.SingleProcessLoad;
import dev.shardline.cli.client.ClusterClient;
import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.model.engine.LocalModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code bench --local} and {@code bench --server}: C concurrent generations (random prompts, greedy, EOS ignored)
 * against the single-process engine and local clusters of 1..N workers with the same total threads, measured in
 * one run, then the ratios the pipeline issue asks for.
 */
final class LoadBench {
    /**
     * Generated tokens per request of the unmeasured warm-up (4 requests) each setup gets before its rows: about
     * 250 steps, so the JIT has compiled the per-step control path (scheduling, gRPC, codecs) as well as the
     * kernels. With 16 tokens, a worker's per-step overhead measured 2-3x its steady state (tiny model, 1 stage:
     * 4-5 ms per step against 1.6 ms after ~400 steps).
     */
    private static final int WARM_UP_TOKENS = 64;

    private final ModelOptions model;
    private final String server;
    private final int[] workers;
    private final int workerThreads;
    private final int[] concurrency;
    private final int promptTokens;
    private final int genTokens;

    LoadBench(ModelOptions model, String server, int[] workers, int workerThreads, int[] concurrency, int promptTokens,
              int genTokens) {
        this.model = model;
        this.server = server;
        this.workers = workers;
        this.workerThreads = workerThreads;
        this.concurrency = concurrency;
        this.promptTokens = promptTokens;
        this.genTokens = genTokens;
    }

    int run() throws Exception {
        List<LoadRun> runs = new ArrayList<>();
        if (server != null) {
            try (ClusterClient client = new ClusterClient(server)) {
                warmUp(client);
                for (int c : concurrency) runs.add(report(ClusterLoad.run(client, null, 0, prompts(c, 1), genTokens, "server " + server)));
            }
            return 0;
        }
        if (model.model == null) {
            throw new IllegalArgumentException("--local needs --model DIR");
        }
        int threads = model.threadsOrDefault();
        System.out.println("prompt " + promptTokens + " tokens, " + genTokens + " generated per request, " + threads
                + " threads for the single process, " + (workerThreads > 0 ? workerThreads + " per worker"
                : threads + " in total per cluster"));
        System.out.println(LoadRun.header());
        Map<String, LoadRun> byKey = new LinkedHashMap<>();
        try (LocalModel m = LocalModel.open(model.model, "cpu", threads, null)) {
            SingleProcessLoad.run(m, prompts(4, 99), WARM_UP_TOKENS, "warm-up");
            for (int c : concurrency) {
                LoadRun r = report(SingleProcessLoad.run(m, prompts(c, c), genTokens, "1 process, " + threads + " thr"));
                byKey.put("p" + c, r);
                runs.add(r);
            }
        }
        for (int w : workers) {
            int perWorker = workerThreads > 0 ? workerThreads : Math.max(1, threads / w);
            Map<String, String> flags = Map.of("replicas", "1", "activation-dtype", "bf16", "max-kv-blocks", "4096");
            try (LocalCluster cluster = LocalCluster.start(model.model, w, 0, perWorker,
                    UpCommand.physicalMemory() / w, flags, true, line -> { });
                 ClusterClient client = new ClusterClient(cluster.address())) {
                warmUp(client);
                for (int c : concurrency) {
                    LoadRun r = report(ClusterLoad.run(client, cluster.cluster().pipelines().getFirst().stats(), w,
                            prompts(c, c), genTokens, w + " worker(s) x " + perWorker + " thr"));
                    byKey.put("w" + w + "c" + c, r);
                    runs.add(r);
                }
            }
        }
        ratios(byKey);
        return 0;
    }

    private static LoadRun report(LoadRun r) {
        System.out.println(r.row());
        if (!r.decodeBreakdown().isEmpty()) System.out.println("    " + r.decodeBreakdown());
        System.out.flush();
        return r;
    }

    private void warmUp(ClusterClient client) throws Exception {
        ClusterLoad.run(client, null, 0, prompts(4, 99), WARM_UP_TOKENS, "warm-up");   // as the single process
    }

    private void ratios(Map<String, LoadRun> r) {
        System.out.println();
        LoadRun p1 = r.get("p1");
        LoadRun w2c1 = r.get("w2c1");
        LoadRun p16 = r.get("p16");
        LoadRun w2c16 = r.get("w2c16");
        LoadRun w1c1 = r.get("w1c1");
        LoadRun w1c16 = r.get("w1c16");
        if (p1 != null && w2c1 != null) {
            System.out.printf("2-stage pipeline at C=1 vs one process: decode %.2fx (ITL p50 %.1f vs %.1f ms; goal: lose at most 10%%)%n",
                    p1.itl(50) / w2c1.itl(50), w2c1.itl(50), p1.itl(50));
        }
        if (p16 != null && w2c16 != null) {
            System.out.printf("2-stage pipeline at C=16 vs one process: throughput %.2fx (goal >= 0.9x)%n", w2c16.throughput() / p16.throughput());
        }
        if (w2c1 != null && w2c16 != null) {
            System.out.printf("2-stage pipeline C=16 vs C=1: throughput %.1fx (goal >= 5x)%n", w2c16.throughput() / w2c1.throughput());
        }
        if (w1c1 != null && w1c16 != null) {
            System.out.printf("1 worker C=16 vs C=1: throughput %.1fx%n", w1c16.throughput() / w1c1.throughput());
        }
        if (p1 != null && p16 != null) {
            System.out.printf("one process C=16 vs C=1: throughput %.1fx%n", p16.throughput() / p1.throughput());
        }
    }

    /** c prompts of promptTokens random ids, from seed. */
    private int[][] prompts(int c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] p = new int[c][];
        for (int i = 0; i < c; i++) p[i] = r.ints(promptTokens, 0, 151643).toArray();
        return p;
    }
}
