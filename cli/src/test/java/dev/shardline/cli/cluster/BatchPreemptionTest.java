package dev.shardline.cli.cluster;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.proto.v1.GenerateRequest;
import dev.shardline.proto.v1.PriorityClass;
import dev.shardline.proto.v1.SamplingParams;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interactive first, also over running batch work, on a real local cluster (coordinator and a tiny-model worker over
 * gRPC): with both running slots held by batch requests and more batch work queued, an interactive request preempts
 * a running batch sequence; every batch request, preempted or not, still generates exactly the greedy tokens it
 * generates alone, and the preemption shows in the status and in /metrics.
 */
class BatchPreemptionTest {

    static SamplingParams greedy(int maxTokens) {
        return SamplingParams.newBuilder().setTemperature(0).setMaxTokens(maxTokens).setIgnoreEos(true).build();
    }

    static GenerateRequest batch(int i) {
        return ClusterClient.tokens(new int[]{5 + i, 17, 23 + 2 * i, 9, 31 + i}, greedy(64)).toBuilder()
                .setPriorityClass(PriorityClass.PRIORITY_CLASS_BATCH).build();
    }

    @Test
    void aPreemptedBatchRequestGeneratesWhatItGeneratesAlone() throws Exception {
        int n = 8;
        try (LocalCluster c = LocalCluster.start(TestModels.get(DemoPreset.TINY), 1, 0, 1, 4L << 30,
                Map.of("pipelines", "1", "max-kv-blocks", "400", "kv-reserve-tokens", "64", "max-running", "2"),
                false, line -> { });
             ClusterClient client = new ClusterClient(c.address())) {
            List<List<Integer>> alone = new ArrayList<>();
            for (int i = 0; i < n; i++) alone.add(client.generate(batch(i), null).tokenIds());
            assertEquals(0, client.status().getServing().getPreemptions(), "one at a time: nothing to preempt");

            ExecutorService pool = Executors.newFixedThreadPool(n);
            try {
                CountDownLatch started = new CountDownLatch(1);
                List<Future<ClusterClient.Result>> together = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    GenerateRequest r = batch(i);
                    together.add(pool.submit(() -> client.generate(r, d -> started.countDown())));
                }
                assertTrue(started.await(60, TimeUnit.SECONDS), "batch tokens come");
                // 8 x 64 tokens of batch work on 2 slots: the slots are full of batch sequences for a long while
                ClusterClient.Result interactive = client.generate(ClusterClient.tokens(new int[]{3, 4, 5}, greedy(4)), null);
                assertEquals(4, interactive.tokenIds().size());
                for (int i = 0; i < n; i++) {
                    assertEquals(alone.get(i), together.get(i).get(120, TimeUnit.SECONDS).tokenIds(),
                            "batch request " + i + ": the same greedy tokens, none lost or repeated");
                }
            } finally {
                pool.shutdownNow();
            }
            long preemptions = client.status().getServing().getPreemptions();
            assertTrue(preemptions >= 1, "the interactive request preempted a running batch sequence: " + preemptions);
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(c.httpUrl() + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            double counted = metrics.lines().filter(l -> l.startsWith("shardline:num_preemptions_total{"))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
            assertEquals(preemptions, (long) counted, "/metrics counts them too");
        }
    }
}
