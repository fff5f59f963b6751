package dev.shardline.cli.cluster;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.PipelineState;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.proto.v1.WorkerInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kill -9 of the coordinator process: its client streams fail UNAVAILABLE; a new coordinator on the same port gets
 * the worker processes back (they register again with the layers they hold) and serves the same tokens, and no
 * worker loaded its weights a second time (their load counters stay at one).
 */
class CoordinatorRestartTest {

    @Test
    void aNewCoordinatorServesAgainWithoutReloadingWeights() throws Exception {
        Path model = TestModels.get(DemoPreset.TINY);
        int port = freePort();
        String address = "127.0.0.1:" + port;
        List<ShardlineProcess> processes = new ArrayList<>();
        try {
            java.util.Queue<String> firstLog = new java.util.concurrent.ConcurrentLinkedQueue<>();
            ShardlineProcess first = coordinator(model, port, firstLog::add);
            processes.add(first);
            for (int i = 0; i < 2; i++) {
                processes.add(ShardlineProcess.start("worker-" + i, List.of("worker", "--worker-id=worker-" + i,
                        "--coordinator=" + address, "--model=" + model, "--threads=1", "--memory-budget=4G"), line -> { }));
            }
            SamplingParams greedy = SamplingParams.newBuilder().setTemperature(0).setMaxTokens(24).setIgnoreEos(true).build();
            List<Integer> before;
            long firstEpoch;
            try (ClusterClient client = new ClusterClient(address)) {
                GetClusterStatusResponse s = await(client, x -> x.getReady() && serving(x) == 1, "the first coordinator serves");
                firstEpoch = s.getEpoch();
                assertEquals(2, s.getPipelines(0).getStagesCount(), () -> "one 2-stage pipeline; coordinator log:\n"
                        + String.join("\n", firstLog));
                before = client.generate(ClusterClient.tokens(new int[]{11, 12, 13}, greedy), null).tokenIds();
                for (WorkerInfo w : client.status().getWorkersList()) assertEquals(1, w.getWeightLoads(), w.toString());

                SamplingParams longRun = SamplingParams.newBuilder().setMaxTokens(100_000 / 64).setIgnoreEos(true).build();
                CompletableFuture<ClusterClient.Result> inFlight = CompletableFuture.supplyAsync(() ->
                        client.generate(ClusterClient.tokens(new int[]{5, 6, 7}, longRun), null));
                await(client, x -> x.getRunningSequences() == 1, "a stream runs");
                first.kill();
                assertEquals(137, first.awaitExit(30, TimeUnit.SECONDS), "killed with SIGKILL");
                ExecutionException e = assertThrows(ExecutionException.class, () -> inFlight.get(30, TimeUnit.SECONDS));
                StatusRuntimeException status = assertInstanceOf(StatusRuntimeException.class, e.getCause());
                assertEquals(Status.Code.UNAVAILABLE, status.getStatus().getCode(), status.toString());
            }

            processes.add(coordinator(model, port, line -> { }));
            try (ClusterClient client = new ClusterClient(address)) {
                GetClusterStatusResponse s = await(client, x -> x.getReady() && serving(x) == 1, "the new coordinator serves");
                assertTrue(s.getEpoch() > firstEpoch, "epochs stay ordered across the restart: " + s.getEpoch() + " > " + firstEpoch);
                assertEquals(before, client.generate(ClusterClient.tokens(new int[]{11, 12, 13}, greedy), null).tokenIds());
                GetClusterStatusResponse after = client.status();
                assertEquals(2, after.getWorkersCount());
                for (WorkerInfo w : after.getWorkersList()) {
                    assertEquals(1, w.getWeightLoads(), w.getWorkerId() + " loaded its weights again");
                }
                assertEquals(1, after.getCounters().getPipelinesFormed());
            }
        } finally {
            for (ShardlineProcess p : processes) p.kill();
        }
    }

    static ShardlineProcess coordinator(Path model, int port, java.util.function.Consumer<String> log) {
        return ShardlineProcess.start("coordinator", List.of("coordinator", "--model=" + model, "--port=" + port,
                "--workers=2", "--pipelines=1", "--activation-dtype=f32", "--heartbeat-ms=200", "--worker-timeout-ms=2000",
                "--kv-reserve-tokens=64", "--max-kv-blocks=400"), log);
    }

    static long serving(GetClusterStatusResponse s) {
        return s.getPipelinesList().stream().filter(p -> p.getState() == PipelineState.PIPELINE_STATE_SERVING).count();
    }

    static GetClusterStatusResponse await(ClusterClient client, Predicate<GetClusterStatusResponse> condition, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        GetClusterStatusResponse last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = client.status();
                if (condition.test(last)) return last;
            } catch (StatusRuntimeException e) {
                // not up yet
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting: " + what + "; last status: " + last);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
