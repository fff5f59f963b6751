package dev.shardline.cli.cluster;

import dev.shardline.cli.client.AdminClient;
import dev.shardline.cli.client.ClusterClient;
import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationDelta;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.GenerationHandle;
import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.coordinator.generation.Prompt;
import dev.shardline.coordinator.generation.TokenSink;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.sampling.SamplingOverrides;
import dev.shardline.proto.v1.FinishReason;
import dev.shardline.proto.v1.SamplingParams;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A cluster that changes while it serves (workers in this JVM, real gRPC): a worker joins and a new pipeline forms
 * and serves while streams run; the admin API (with its token) scales back down by draining, never killing; a
 * consumer that stops reading is cancelled and frees its blocks while others finish.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ElasticClusterTest {
    static final String TOKEN = "s3cret";
    static LocalCluster cluster;
    static ClusterClient client;

    @BeforeAll
    static void start() throws InterruptedException {
        cluster = LocalCluster.start(TestModels.get(DemoPreset.TINY), 1, 0, 1, 4L << 30,
                Map.of("pipelines", "0", "max-kv-blocks", "400", "kv-reserve-tokens", "64", "heartbeat-ms", "100",
                        "worker-timeout-ms", "2000", "admin-token", TOKEN, "sink-buffer-tokens", "32",
                        "drain-timeout-ms", "20000"), false, line -> { });
        client = new ClusterClient(cluster.address());
    }

    @AfterAll
    static void stop() {
        client.close();
        cluster.close();
    }

    static SamplingParams length(int n) {
        return SamplingParams.newBuilder().setTemperature(0).setMaxTokens(n).setIgnoreEos(true).build();
    }

    static CompletableFuture<ClusterClient.Result> stream(int seed, int tokens) {
        return CompletableFuture.supplyAsync(() -> client.generate(ClusterClient.tokens(new int[]{seed, seed + 1, seed + 2},
                length(tokens)), null));
    }

    @Test
    @Order(1)
    void aJoiningWorkerFormsANewPipelineThatServesWhileStreamsRun() throws Exception {
        assertEquals(1, cluster.cluster().status().serving());
        List<CompletableFuture<ClusterClient.Result>> early = new ArrayList<>();
        for (int i = 0; i < 3; i++) early.add(stream(10 + i, 300));
        await(() -> cluster.cluster().status().runningSequences() == 3, "three streams running");

        cluster.addWorker("worker-late");
        await(() -> cluster.cluster().status().serving() == 2, "a second pipeline serving");
        ClusterStatus.Pipeline fresh = cluster.cluster().status().pipelines().stream()
                .filter(p -> p.stages().getFirst().workerId().equals("worker-late")).findFirst().orElseThrow();
        List<CompletableFuture<ClusterClient.Result>> late = new ArrayList<>();
        for (int i = 0; i < 3; i++) late.add(stream(20 + i, 20));
        for (CompletableFuture<ClusterClient.Result> f : late) {
            assertEquals(20, f.get(60, TimeUnit.SECONDS).tokenIds().size());
        }
        ClusterStatus.Pipeline after = cluster.cluster().status().pipelines().stream()
                .filter(p -> p.id() == fresh.id()).findFirst().orElseThrow();
        assertTrue(after.load().tokensGenerated() >= 20, "the new pipeline generated tokens: " + after.load());
        for (CompletableFuture<ClusterClient.Result> f : early) {
            ClusterClient.Result r = f.get(60, TimeUnit.SECONDS);
            assertEquals(300, r.tokenIds().size(), "the streams that ran meanwhile are whole");
            assertEquals(0, r.finished().getMigrations());
        }
    }

    @Test
    @Order(2)
    void adminCallsNeedTheTokenAndScalingDownDrainsWithoutKillingWork() throws Exception {
        try (AdminClient none = new AdminClient(cluster.address(), null);
             AdminClient wrong = new AdminClient(cluster.address(), "guess")) {
            assertEquals(Status.Code.UNAUTHENTICATED, assertThrows(StatusRuntimeException.class, () -> none.scale(1)).getStatus().getCode());
            assertEquals(Status.Code.PERMISSION_DENIED, assertThrows(StatusRuntimeException.class, () -> wrong.scale(1)).getStatus().getCode());
        }
        assertEquals(2, cluster.cluster().status().serving());
        List<CompletableFuture<ClusterClient.Result>> running = new ArrayList<>();
        for (int i = 0; i < 4; i++) running.add(stream(40 + i, 150));
        await(() -> cluster.cluster().status().runningSequences() == 4, "four streams running on two pipelines");
        try (AdminClient admin = new AdminClient(cluster.address(), TOKEN)) {
            assertEquals(1, admin.scale(1).getServing());
        }
        for (CompletableFuture<ClusterClient.Result> f : running) {
            ClusterClient.Result r = f.get(60, TimeUnit.SECONDS);
            assertEquals(FinishReason.FINISH_REASON_LENGTH, r.finished().getFinishReason());
            assertEquals(150, r.tokenIds().size());
        }
        await(() -> cluster.cluster().status().pipelines().stream().filter(p -> p.state() != PipelineState.FAILED).count() == 1,
                "the drained pipeline retired");
        ClusterStatus s = cluster.cluster().status();
        assertEquals(0, s.counters().migrationsAfterFailure(), "a scale-down never fails a pipeline");
        assertEquals(1, s.counters().pipelinesDrained());
        assertEquals(1, s.pool().size(), "its worker went back to the pool: " + s.pool());
    }

    @Test
    @Order(3)
    void aConsumerThatStopsReadingIsCancelledAndFreesItsBlocks() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        CompletableFuture<GenerationException> ended = new CompletableFuture<>();
        TokenSink stuck = new TokenSink() {
            @Override
            public void onDelta(GenerationDelta delta) throws InterruptedException {
                never.await();                                  // a client that never reads again
            }

            @Override
            public void onComplete(Completion completion) {
                ended.completeExceptionally(new AssertionError("completed: " + completion));
            }

            @Override
            public void onError(GenerationException error) {
                ended.complete(error);
            }
        };
        GenerationRequest r = GenerationRequest.builder(new Prompt.Tokens(new int[]{7, 8, 9}))
                .sampling(new SamplingOverrides(0.0, null, null, null, null, null, null, null, 2000, null, null, true))
                .build();
        GenerationHandle slow = cluster.coordinator().generation().submit(r, stuck);
        CompletableFuture<ClusterClient.Result> other = stream(60, 100);

        GenerationException e = ended.get(60, TimeUnit.SECONDS);
        assertInstanceOf(GenerationException.ConsumerTooSlow.class, e);
        assertTrue(e.getMessage().contains("fell behind"), e.getMessage());
        ExecutionException failed = assertThrows(ExecutionException.class, () -> slow.completion().get(5, TimeUnit.SECONDS));
        assertInstanceOf(GenerationException.ConsumerTooSlow.class, failed.getCause());
        assertEquals(100, other.get(60, TimeUnit.SECONDS).tokenIds().size(), "the other request is unaffected");
        await(() -> cluster.cluster().status().pipelines().stream().filter(p -> p.load() != null)
                .allMatch(p -> p.load().blocksUsed() == 0 && p.load().running() == 0), "every KV block free");
        assertEquals(1, cluster.cluster().status().counters().requestsCancelledSlowConsumer());
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting: " + what + "; "
                    + cluster.cluster().status());
            Thread.sleep(20);
        }
    }
}
