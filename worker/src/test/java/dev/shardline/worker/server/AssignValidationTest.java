package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.ModelFingerprint;

import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.LoadProgress;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import dev.shardline.proto.stage.v1.WorkerState;
import dev.shardline.worker.config.WorkerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assign refuses what it cannot serve with the contract's status codes and a message naming the field. */
class AssignValidationTest {
    @TempDir
    static Path model;
    static TestControlPlane cp;
    static WorkerProcess worker;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        TinyModel.write(model);
        cp = TestControlPlane.start(0);
        WorkerConfig c = TinyModel.worker(model, cp.address(), "w-valid");
        // budget: the whole model's weights (~0.3 MB) and a modest KV cache, not a huge one
        worker = WorkerProcess.start(new WorkerConfig(c.workerId(), c.coordinator(), c.host(), 0, model, "reference", 1,
                4L << 20, "mmap", c.drainTimeoutMs()), s -> { });
        channel = Channels.open(worker.address());
    }

    @AfterAll
    static void stop() throws Exception {
        Channels.close(channel);
        worker.close();
        cp.close();
    }

    static LayerAssignment.Builder valid() {
        return LayerAssignment.newBuilder().setPipelineId(0).setPlanEpoch(1).setStageIndex(0).setStageCount(1)
                .setLayerStart(0).setLayerEnd(3).setHasEmbedding(true).setHasHead(true)
                .setModelFingerprint(worker.modelFingerprint()).setKvBlocks(8).setBlockSize(4)
                .setNextStageAddress("coordinator").setCoordinatorAddress(cp.address());
    }

    static StatusRuntimeException refused(UnaryOperator<LayerAssignment.Builder> change) {
        return assertThrows(StatusRuntimeException.class,
                () -> StageGrpc.newBlockingStub(channel).assign(change.apply(valid()).build()).forEachRemaining(p -> { }));
    }

    static void refusedWith(Status.Code code, String text, UnaryOperator<LayerAssignment.Builder> change) {
        StatusRuntimeException e = refused(change);
        assertEquals(code, e.getStatus().getCode(), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains(text), e.getStatus().getDescription());
    }

    @Test
    void badAssignmentsNameTheField() {
        StageGrpc.newBlockingStub(channel).assign(valid().setPlanEpoch(7).build()).forEachRemaining(p -> { });
        refusedWith(Status.Code.INVALID_ARGUMENT, "LayerAssignment.layer_end 5 is beyond the model's 3 layers",
                b -> b.setLayerEnd(5));
        refusedWith(Status.Code.INVALID_ARGUMENT, "LayerAssignment.layer_end 1 must be > layer_start 1",
                b -> b.setLayerStart(1).setLayerEnd(1));
        refusedWith(Status.Code.FAILED_PRECONDITION, "LayerAssignment.model_fingerprint 000000000000... differs",
                b -> b.setModelFingerprint("0".repeat(64)));
        refusedWith(Status.Code.INVALID_ARGUMENT, "LayerAssignment.kv_blocks must be > 0", b -> b.setKvBlocks(0));
        refusedWith(Status.Code.INVALID_ARGUMENT, "LayerAssignment.block_size must be > 0", b -> b.setBlockSize(-4));
        refusedWith(Status.Code.INVALID_ARGUMENT, "LayerAssignment.next_stage_address must be host:port",
                b -> b.setHasHead(false).setLayerEnd(2));
        refusedWith(Status.Code.INVALID_ARGUMENT, "LayerAssignment.max_message_bytes", b -> b.setMaxMessageBytes(10));
        refusedWith(Status.Code.INVALID_ARGUMENT, "LayerAssignment.sample_vocab_limit", b -> b.setSampleVocabLimit(513));
        refusedWith(Status.Code.NOT_FOUND, "LayerAssignment.model_dir", b -> b.setModelDir(model.resolve("nope").toString()));
        refusedWith(Status.Code.RESOURCE_EXHAUSTED, "memory budget is 4.2 MB", b -> b.setKvBlocks(4096));
        var status = StageGrpc.newBlockingStub(channel).getStageStatus(StageStatusRequest.getDefaultInstance());
        assertEquals(WorkerState.WORKER_STATE_READY, status.getState(), "a refused Assign keeps the previous one");
        assertEquals(7, status.getAssignment().getPlanEpoch());
    }

    @Test
    void assignStreamsProgressPerLayerThenReady() {
        // another range first, so that the whole model is loaded again rather than reused
        StageGrpc.newBlockingStub(channel).assign(valid().setLayerStart(1).setHasEmbedding(false).build())
                .forEachRemaining(p -> { });
        List<LoadProgress> events = new ArrayList<>();
        StageGrpc.newBlockingStub(channel).assign(valid().build()).forEachRemaining(events::add);
        List<Integer> layers = events.stream().filter(LoadProgress::hasProgress)
                .map(p -> p.getProgress().getLayersDone()).toList();
        assertEquals(List.of(1, 2, 3, 3), layers, "one per layer, then the head");
        LoadProgress last = events.getLast();
        assertTrue(last.hasReady());
        assertEquals(32, last.getReady().getKvCapacityTokens());
        long bytesTotal = events.getFirst().getProgress().getBytesTotal();
        assertEquals(bytesTotal, last.getReady().getWeightBytes(), "the bytes the loader maps");
        assertEquals(32L * 3 * 2 * 32 * 4, last.getReady().getKvBytes(), "tokens x layers x (k, v) x kv dim x f32");
        assertEquals(WorkerState.WORKER_STATE_READY, worker.state());
    }
}
