package dev.shardline.cli.cluster;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageStatus;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import dev.shardline.proto.v1.ChatMessage;
import dev.shardline.proto.v1.ChatRequest;
import dev.shardline.proto.v1.GenerateRequest;
import dev.shardline.proto.v1.GenerateResponse;
import dev.shardline.proto.v1.GetClusterStatusRequest;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.InferenceGrpc;
import dev.shardline.proto.v1.ListModelsRequest;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.proto.v1.TokenIds;
import dev.shardline.proto.v1.TokenizeRequest;
import dev.shardline.worker.server.WorkerProcess;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client API of a 2-stage tiny cluster: validation names the field, cancellation and deadlines free the KV. */
class ClusterApiTest {
    static LocalCluster cluster;
    static ManagedChannel channel;
    static InferenceGrpc.InferenceBlockingStub api;

    @BeforeAll
    static void start() throws InterruptedException {
        cluster = LocalCluster.start(TestModels.get(DemoPreset.TINY), 2, 0, 1, 4L << 30,
                Map.of("pipelines", "1", "max-kv-blocks", "400", "kv-reserve-tokens", "64"), false, line -> { });
        channel = NettyChannelBuilder.forTarget(cluster.address()).usePlaintext().build();
        api = InferenceGrpc.newBlockingStub(channel);
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        cluster.close();
    }

    static StatusRuntimeException failure(GenerateRequest r) {
        return assertThrows(StatusRuntimeException.class, () -> api.generate(r).forEachRemaining(x -> { }));
    }

    static void assertInvalid(StatusRuntimeException e, String field) {
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains(field), e.getStatus().getDescription());
    }

    static GenerateRequest ids(SamplingParams s, int... ids) {
        TokenIds.Builder t = TokenIds.newBuilder();
        for (int id : ids) t.addIds(id);
        return GenerateRequest.newBuilder().setPromptTokenIds(t).setSampling(s).build();
    }

    @Test
    void invalidRequestsNameTheField() {
        SamplingParams ok = SamplingParams.newBuilder().setMaxTokens(4).build();
        assertInvalid(failure(GenerateRequest.newBuilder().setSampling(ok).build()), "prompt");
        assertInvalid(failure(GenerateRequest.newBuilder().setPromptText("").setSampling(ok).build()), "prompt");
        assertInvalid(failure(ids(ok, 1, 999_999)), "prompt_token_ids[1]");
        assertInvalid(failure(GenerateRequest.newBuilder().setModel("gpt-5").setPromptText("hi").setSampling(ok).build()), "model");
        assertInvalid(failure(ids(SamplingParams.newBuilder().setTopP(1.5).build(), 1, 2)), "top_p");
        assertInvalid(failure(ids(SamplingParams.newBuilder().setTemperature(-1).build(), 1, 2)), "temperature");
        assertInvalid(failure(ids(SamplingParams.newBuilder().setMaxTokens(1 << 30).build(), 1, 2)), "max_tokens");
        assertInvalid(failure(ids(SamplingParams.newBuilder().setMaxTokens(0).build(), 1, 2)), "max_tokens");
        int[] huge = new int[40_000];
        assertInvalid(failure(ids(ok, huge)), "prompt");
        StatusRuntimeException chat = assertThrows(StatusRuntimeException.class, () -> api.chat(ChatRequest.newBuilder()
                .addMessages(ChatMessage.newBuilder().setRole("wizard").setContent("x")).build()).forEachRemaining(x -> { }));
        assertInvalid(chat, "wizard");
    }

    @Test
    void chatStreamsReasoningAndReportsUsage() {
        ClusterClient.Result r;
        try (ClusterClient c = new ClusterClient(cluster.address())) {
            r = c.chat(ClusterClient.chat(null, "Hi", SamplingParams.newBuilder().setMaxTokens(6).setSeed(5).setIgnoreEos(true).build()), null);
        }
        assertEquals(6, r.finished().getUsage().getCompletionTokens());
        assertEquals(6, r.tokenIds().size());
        assertTrue(r.finished().getUsage().getPromptTokens() > 5);
        assertEquals(r.text(), r.reasoning() + r.answer(), "text = reasoning + answer");
        assertEquals(9707, api.tokenize(TokenizeRequest.newBuilder().setText("Hello").build()).getTokenIds(0));
        assertEquals(4, api.listModels(ListModelsRequest.getDefaultInstance()).getModels(0).getNumLayers());
        HealthCheckResponse health = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
    }

    @Test
    void cancellingFreesTheSequenceOnEveryStage() throws Exception {
        SamplingParams longRun = SamplingParams.newBuilder().setMaxTokens(5000).setIgnoreEos(true).build();
        Context.CancellableContext ctx = Context.current().withCancellation();
        int[] seen = {0};
        ctx.run(() -> {
            Iterator<GenerateResponse> it = api.generate(ids(longRun, 1, 2, 3, 4));
            while (it.hasNext() && seen[0] < 3) {
                if (it.next().hasDelta()) seen[0]++;
            }
        });
        assertEquals(3, seen[0]);
        await(() -> busyBlocks() > 0, "the running sequence holds KV blocks (the status is rebuilt every 100 ms)");
        GetClusterStatusResponse busy = api.getClusterStatus(GetClusterStatusRequest.getDefaultInstance());
        assertTrue(busy.hasKvUsage(), "kv_usage is filled");
        assertEquals(kvUsage(busy), busy.getKvUsage(), 1e-12, "kv_usage = used / total KV blocks of the serving pipelines");
        assertTrue(busy.getKvUsage() > 0 && busy.getKvUsage() < 1, "the running sequence's blocks: " + busy.getKvUsage());
        ctx.cancel(null);
        awaitIdle();
        assertEquals(0, api.getClusterStatus(GetClusterStatusRequest.getDefaultInstance()).getKvUsage(), "all blocks free");

        StatusRuntimeException late = assertThrows(StatusRuntimeException.class, () -> api.withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                .generate(ids(longRun, 5, 6, 7)).forEachRemaining(x -> { }));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, late.getStatus().getCode());
        awaitIdle();
    }

    /** KV usage from the response's own pipelines: used / total blocks of the serving ones. */
    static double kvUsage(GetClusterStatusResponse s) {
        long used = 0, total = 0;
        for (var p : s.getPipelinesList()) {
            if (p.getState() != dev.shardline.proto.v1.PipelineState.PIPELINE_STATE_SERVING) continue;
            used += p.getKvBlocksUsed();
            total += p.getKvBlocksTotal();
        }
        return total == 0 ? 0 : (double) used / total;
    }

    static int busyBlocks() {
        GetClusterStatusResponse s = api.getClusterStatus(GetClusterStatusRequest.getDefaultInstance());
        return s.getStageLoadsList().stream().mapToInt(l -> l.getKvBlocksUsed()).max().orElse(0);
    }

    /** The coordinator's KV blocks are all free and no stage keeps state for a sequence. */
    static void awaitIdle() throws InterruptedException {
        await(() -> busyBlocks() == 0 && api.getClusterStatus(GetClusterStatusRequest.getDefaultInstance()).getRunningSequences() == 0,
                "coordinator KV blocks freed");
        for (WorkerProcess w : cluster.inProcessWorkers()) {
            ManagedChannel ch = NettyChannelBuilder.forTarget(w.address()).usePlaintext().build();
            try {
                await(() -> {
                    StageStatus st = StageGrpc.newBlockingStub(ch).getStageStatus(StageStatusRequest.getDefaultInstance());
                    return st.getLiveSequences() == 0;
                }, "stage " + w.workerId() + " forgot the sequence");
            } finally {
                ch.shutdownNow();
            }
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting: " + what);
            Thread.sleep(20);
        }
    }
}
