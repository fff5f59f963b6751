package dev.shardline.cli.cluster;

import dev.shardline.cli.CliRun;
import dev.shardline.cli.client.ClusterClient;
import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.proto.v1.FinishReason;
import dev.shardline.proto.v1.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM to a worker process mid-stream drains it: its pipeline takes no new sequence from then on, the running
 * ones finish (nothing lost, no failure), the process exits 0 and the pipeline is gone from the status. Its partner,
 * back in the pool, is drained with {@code ./shardline drain} and exits 0 at once.
 */
class DrainTest {

    @Test
    void sigtermDrainsAWorkerWithoutLosingWork() throws Exception {
        Map<String, String> flags = Map.of("pipelines", "2", "max-kv-blocks", "400", "kv-reserve-tokens", "64",
                "heartbeat-ms", "200", "worker-timeout-ms", "5000", "drain-timeout-ms", "60000");
        java.nio.file.Path model = TestModels.get(DemoPreset.TINY);
        TestLog log = new TestLog();
        try (LocalCluster cluster = LocalCluster.start(model, 4, 0, 1, TestModels.halfModelBudget(model), flags, true,
                log);
             ClusterClient client = new ClusterClient(cluster.address())) {
            SamplingParams run = SamplingParams.newBuilder().setTemperature(0).setMaxTokens(300).setIgnoreEos(true).build();
            List<CompletableFuture<ClusterClient.Result>> streams = new ArrayList<>();
            for (int i = 0; i < 6; i++) streams.add(stream(client, i, run));
            await(() -> cluster.cluster().status().runningSequences() == 6, "six streams running", cluster);

            ClusterStatus.Pipeline drained = cluster.cluster().status().pipelines().stream()
                    .filter(p -> p.state() == PipelineState.SERVING)
                    .max(Comparator.comparingInt(p -> p.load().running())).orElseThrow();
            String leaving = drained.stages().getFirst().workerId();
            String partner = drained.stages().getLast().workerId();
            ShardlineProcess process = cluster.workerProcess(leaving).orElseThrow();
            process.terminate();
            await(() -> state(cluster, drained.id()) == PipelineState.DRAINING, "the pipeline drains", cluster);
            dev.shardline.coordinator.cluster.PipelineRunner runner = cluster.cluster().status().pipelines().stream()
                    .filter(p -> p.id() == drained.id()).findFirst().orElseThrow().runner();
            long admitted = runner.snapshot().admitted();
            for (int i = 6; i < 10; i++) streams.add(stream(client, i, run));

            for (CompletableFuture<ClusterClient.Result> f : streams) {
                ClusterClient.Result r = f.get(120, TimeUnit.SECONDS);
                assertEquals(FinishReason.FINISH_REASON_LENGTH, r.finished().getFinishReason());
                assertEquals(300, r.tokenIds().size());
            }
            assertEquals(0, process.awaitExit(60, TimeUnit.SECONDS), "the drained worker exits 0");
            await(() -> cluster.cluster().status().pipelines().stream().noneMatch(p -> p.id() == drained.id()),
                    "the drained pipeline is gone", cluster);
            ClusterStatus after = cluster.cluster().status();
            assertEquals(0, after.counters().migrationsAfterFailure(), "a drain is no failure" + log.tail());
            assertEquals(0, after.counters().pipelinesFailed(), log.tail());
            assertEquals(1, after.counters().pipelinesDrained());
            assertTrue(after.pool().contains(partner) || after.pipelines().stream().anyMatch(p -> p.stages().stream()
                    .anyMatch(s -> s.workerId().equals(partner))), "the partner is back in service or in the pool");
            assertEquals(admitted, runner.snapshot().admitted(), "no sequence was admitted to the draining pipeline");
            await(() -> cluster.cluster().status().workers().stream().noneMatch(w -> w.id().equals(leaving)),
                    "the drained worker left the registry", cluster);

            await(() -> cluster.cluster().status().pool().contains(partner)
                    || cluster.cluster().status().serving() == 2, "the partner settled", cluster);
            if (cluster.cluster().status().pool().contains(partner)) {
                CliRun r = CliRun.of("drain", "--server", cluster.address(), partner);
                assertEquals(0, r.code(), r.err());
                assertTrue(r.out().contains("in the pool"), r.out());
                assertEquals(0, cluster.workerProcess(partner).orElseThrow().awaitExit(30, TimeUnit.SECONDS));
            }
            assertFalse(process.isAlive());
        }
    }

    static CompletableFuture<ClusterClient.Result> stream(ClusterClient client, int i, SamplingParams p) {
        return CompletableFuture.supplyAsync(() -> client.generate(ClusterClient.tokens(new int[]{3 + i, 4 + i, 5}, p), null));
    }

    static PipelineState state(LocalCluster cluster, int id) {
        return cluster.cluster().status().pipelines().stream().filter(p -> p.id() == id).map(ClusterStatus.Pipeline::state)
                .findFirst().orElse(null);
    }

    static void await(BooleanSupplier condition, String what, LocalCluster cluster) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting: " + what + "; "
                    + cluster.cluster().status());
            Thread.sleep(10);
        }
    }
}
