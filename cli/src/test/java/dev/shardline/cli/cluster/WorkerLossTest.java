package dev.shardline.cli.cluster;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.coordinator.cluster.PipelineRunner;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.proto.v1.FinishReason;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.worker.server.WorkerProcess;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker that vanishes: the requests on its pipeline end at once with an error naming it (nothing hangs), and
 * with two replicas the other pipeline keeps serving new requests.
 */
class WorkerLossTest {

    @Test
    void aLostWorkerFailsOnlyItsPipeline() throws Exception {
        Map<String, String> flags = Map.of("replicas", "2", "max-kv-blocks", "400", "kv-reserve-tokens", "64",
                "heartbeat-ms", "100", "worker-timeout-ms", "1000");
        try (LocalCluster cluster = LocalCluster.start(TestModels.get(DemoPreset.TINY), 2, 0, 1, 4L << 30, flags, false, line -> { });
             ClusterClient client = new ClusterClient(cluster.address())) {
            assertEquals(2, cluster.cluster().pipelines().size(), cluster.cluster().plan().describe());
            SamplingParams longRun = SamplingParams.newBuilder().setMaxTokens(5000).setIgnoreEos(true).build();
            CompletableFuture<ClusterClient.Result> a = CompletableFuture.supplyAsync(() -> client.generate(ClusterClient.tokens(new int[]{1, 2}, longRun), null));
            CompletableFuture<ClusterClient.Result> b = CompletableFuture.supplyAsync(() -> client.generate(ClusterClient.tokens(new int[]{3, 4}, longRun), null));
            Thread.sleep(500);
            String victimId = cluster.cluster().plan().pipelines().getFirst().stages().getFirst().workerId();
            WorkerProcess victim = cluster.inProcessWorkers().stream().filter(w -> w.workerId().equals(victimId)).findFirst().orElseThrow();
            victim.close();

            ClusterClient.Result failed = (a.get(20, TimeUnit.SECONDS).finished().getFinishReason() == FinishReason.FINISH_REASON_ERROR)
                    ? a.get() : b.get(20, TimeUnit.SECONDS);
            assertNotNull(failed.finished());
            assertEquals(FinishReason.FINISH_REASON_ERROR, failed.finished().getFinishReason());
            assertTrue(failed.finished().getError().contains(victimId) || failed.finished().getError().contains("stage 0"),
                    failed.finished().getError());

            PipelineRunner down = cluster.cluster().pipelines().getFirst();
            assertNotNull(down.failure());
            ClusterClient.Result after = client.generate(ClusterClient.tokens(new int[]{5, 6, 7},
                    SamplingParams.newBuilder().setMaxTokens(5).setIgnoreEos(true).build()), null);
            assertEquals(FinishReason.FINISH_REASON_LENGTH, after.finished().getFinishReason(), "the surviving replica serves");
            assertEquals(5, after.tokenIds().size());
        }
    }
}
