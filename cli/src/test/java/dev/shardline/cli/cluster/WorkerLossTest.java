package dev.shardline.cli.cluster;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.proto.v1.FinishReason;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.worker.server.WorkerProcess;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker that goes away (in this JVM: its server stops, its streams break) takes its pipeline down, and the
 * pipeline's requests move to the other pipeline and complete, every token once.
 */
class WorkerLossTest {

    @Test
    void requestsOfALostPipelineMigrateAndComplete() throws Exception {
        Map<String, String> flags = Map.of("pipelines", "2", "max-kv-blocks", "400", "kv-reserve-tokens", "64",
                "heartbeat-ms", "100", "worker-timeout-ms", "1000", "activation-dtype", "f32");
        try (LocalCluster cluster = LocalCluster.start(TestModels.get(DemoPreset.TINY), 2, 0, 1, 4L << 30, flags, false, line -> { });
             ClusterClient client = new ClusterClient(cluster.address())) {
            ClusterStatus before = cluster.cluster().status();
            assertEquals(2, before.serving(), before.toString());
            SamplingParams longRun = SamplingParams.newBuilder().setTemperature(0).setMaxTokens(400).setIgnoreEos(true).build();
            List<CompletableFuture<ClusterClient.Result>> runs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int[] prompt = {1 + i, 2 + i, 3 + i};
                runs.add(CompletableFuture.supplyAsync(() -> client.generate(ClusterClient.tokens(prompt, longRun), null)));
            }
            while (cluster.cluster().status().runningSequences() < 4) Thread.sleep(10);
            String victim = before.pipelines().getFirst().stages().getFirst().workerId();
            WorkerProcess w = cluster.inProcessWorker(victim).orElseThrow();
            w.close();

            for (CompletableFuture<ClusterClient.Result> run : runs) {
                ClusterClient.Result r = run.get(60, TimeUnit.SECONDS);
                assertEquals(FinishReason.FINISH_REASON_LENGTH, r.finished().getFinishReason(), r.toString());
                assertEquals(400, r.tokenIds().size());
            }
            ClusterStatus after = cluster.cluster().status();
            assertTrue(after.counters().migrationsAfterFailure() >= 1, after.counters().toString());
            assertTrue(after.pipelines().stream().anyMatch(p -> p.state() == PipelineState.FAILED
                    && p.reason().contains(victim)), after.pipelines().toString());
        }
    }
}
