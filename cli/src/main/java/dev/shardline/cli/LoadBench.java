package dev.shardline.cli;

import dev.shardline.cli.bench.ClusterLoad;
import dev.shardline.cli.bench.LoadRun;
import dev.shardline.cli.bench.Ratios;
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
 * one run, then the ratios the pipeline issue asks for. With several rounds every setup stays up and the rows
 * alternate (for each concurrency: the process, then each cluster), so that this machine's drift from minute to
 * minute moves all setups of a round alike; each round's ratios are printed, then their median.
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
    private final int rounds;

    LoadBench(ModelOptions model, String server, int[] workers, int workerThreads, int[] concurrency, int promptTokens,
              int genTokens, int rounds) {
        this.model = model;
        this.server = server;
        this.workers = workers;
        this.workerThreads = workerThreads;
        this.concurrency = concurrency;
        this.promptTokens = promptTokens;
        this.genTokens = genTokens;
        if (rounds < 1) {
            throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        }
        this.rounds = rounds;
    }

    int run() throws Exception {
        if (server != null) {
            try (ClusterClient client = new ClusterClient(server)) {
                warmUp(client);
                for (int c : concurrency) report(ClusterLoad.run(client, null, 0, prompts(c, 1), genTokens, "server " + server));
            }
            return 0;
        }
        if (model.model == null) {
            throw new IllegalArgumentException("--local needs --model DIR");
        }
        int threads = model.threadsOrDefault();
        System.out.println("prompt " + promptTokens + " tokens, " + genTokens + " generated per request, " + threads
                + " threads for the single process, " + (workerThreads > 0 ? workerThreads + " per worker"
                : threads + " in total per cluster") + (rounds > 1 ? ", " + rounds + " interleaved rounds" : ""));
        List<Setup> clusters = new ArrayList<>();
        try (LocalModel m = LocalModel.open(model.model, "cpu", threads, null)) {
            for (int w : workers) {
                clusters.add(Setup.start(model, w, workerThreads > 0 ? workerThreads : Math.max(1, threads / w)));
            }
            SingleProcessLoad.run(m, prompts(4, 99), WARM_UP_TOKENS, "warm-up");
            for (Setup s : clusters) warmUp(s.client);
            List<Ratios> perRound = new ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                if (rounds > 1) System.out.println("\nround " + round + " of " + rounds);
                System.out.println(LoadRun.header());
                Map<String, LoadRun> byKey = new LinkedHashMap<>();
                for (int c : concurrency) {
                    byKey.put("p" + c, report(SingleProcessLoad.run(m, prompts(c, c), genTokens, "1 process, " + threads + " thr")));
                    for (Setup s : clusters) {
                        byKey.put("w" + s.workers + "c" + c, report(ClusterLoad.run(s.client,
                                s.cluster.cluster().status().pipelines().getFirst().runner().stats(), s.workers, prompts(c, c), genTokens,
                                s.workers + " worker(s) x " + s.threadsPerWorker + " thr")));
                    }
                }
                Ratios r = Ratios.of(byKey);
                System.out.println();
                System.out.print(r.describe());
                perRound.add(r);
            }
            if (perRound.size() > 1) {
                System.out.println("\nmedian of " + perRound.size() + " rounds:");
                System.out.print(Ratios.median(perRound).describe());
            }
        } finally {
            for (Setup s : clusters) s.close();
        }
        return 0;
    }

    /** A local cluster kept up for the whole run, with its client: rounds alternate between the setups. */
    private record Setup(int workers, int threadsPerWorker, LocalCluster cluster, ClusterClient client) implements AutoCloseable {
        static Setup start(ModelOptions model, int workers, int threadsPerWorker) throws Exception {
            Map<String, String> flags = Map.of("pipelines", "1", "activation-dtype", "bf16", "max-kv-blocks", "4096");
            LocalCluster cluster = LocalCluster.start(model.model, workers, 0, threadsPerWorker,
                    UpCommand.physicalMemory() / workers, flags, true, line -> { });
            try {
                return new Setup(workers, threadsPerWorker, cluster, new ClusterClient(cluster.address()));
            } catch (RuntimeException e) {
                cluster.close();
                throw e;
            }
        }

        @Override
        public void close() {
            client.close();
            cluster.close();
        }
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

    /** c prompts of promptTokens random ids, from seed. */
    private int[][] prompts(int c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] p = new int[c][];
        for (int i = 0; i < c; i++) p[i] = r.ints(promptTokens, 0, 151643).toArray();
        return p;
    }
}
