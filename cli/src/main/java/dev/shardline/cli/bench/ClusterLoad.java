package dev.shardline.cli.bench;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.coordinator.cluster.PipelineStats;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.proto.v1.WorkerInfo;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * C concurrent greedy generations against a cluster through its gRPC API. Stage busy fractions come from the
 * coordinator's per-stage compute times over the run (when it runs in this process), bytes between stages from
 * the workers' own counters.
 */
public final class ClusterLoad {

    public static LoadRun run(ClusterClient client, PipelineStats stats, int stages, int[][] prompts, int genTokens,
                              String setup) throws Exception {
        int c = prompts.length;
        SamplingParams greedy = SamplingParams.newBuilder().setTemperature(0).setMaxTokens(genTokens).setIgnoreEos(true).build();
        double[] computeBefore = compute(stats, stages);
        PipelineStats.DecodeTotals decodeBefore = stats == null ? null : stats.decodeTotals();
        long bytesBefore = bytesSent(client);
        ExecutorService pool = Executors.newFixedThreadPool(c);
        long start = System.nanoTime();
        List<Future<ClusterClient.Result>> futures = new ArrayList<>();
        try {
            for (int[] p : prompts) {
                futures.add(pool.submit(() -> client.generate(ClusterClient.tokens(p, greedy), null)));
            }
            List<Double> ttft = new ArrayList<>();
            List<Double> itl = new ArrayList<>();
            int total = 0;
            for (Future<ClusterClient.Result> f : futures) {
                ClusterClient.Result r = f.get();
                if (r.finished() == null || !r.finished().getError().isEmpty()) {
                    throw new IllegalStateException("a benchmark request failed: " + (r.finished() == null ? "no end" : r.finished().getError()));
                }
                total += r.tokenIds().size();
                ttft.add((r.firstTokenNanos() - start) / 1e6);
                List<Long> t = r.tokenNanos();
                for (int j = 1; j < t.size(); j++) itl.add((t.get(j) - t.get(j - 1)) / 1e6);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double[] computeAfter = compute(stats, stages);
            double[] busy = new double[stages];
            for (int i = 0; i < stages; i++) busy[i] = (computeAfter[i] - computeBefore[i]) / (seconds * 1e3);
            return new LoadRun(setup, c, total, seconds, LoadRun.toArray(ttft), LoadRun.toArray(itl), busy,
                    bytesSent(client) - bytesBefore,
                    stats == null ? "" : stats.decodeTotals().minus(decodeBefore).describe());
        } finally {
            pool.shutdownNow();
        }
    }

    private static double[] compute(PipelineStats stats, int stages) {
        double[] ms = new double[stages];
        for (int i = 0; stats != null && i < stages; i++) ms[i] = stats.computeMillis(i);
        return ms;
    }

    /** Activation bytes all workers have sent downstream so far. */
    static long bytesSent(ClusterClient client) {
        long total = 0;
        for (WorkerInfo w : client.status().getWorkersList()) {
            ManagedChannel ch = NettyChannelBuilder.forTarget(w.getAddress()).usePlaintext().build();
            try {
                total += StageGrpc.newBlockingStub(ch).getStageStatus(StageStatusRequest.getDefaultInstance())
                        .getLoad().getActivationBytesSent();
            } finally {
                ch.shutdownNow();
            }
        }
        return total;
    }

    private ClusterLoad() {
    }
}
