package dev.shardline.worker.server;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.SamplerParams;
import dev.shardline.proto.stage.v1.WorkerState;
import dev.shardline.worker.cuda.CudaException;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.shardline.worker.server.WorkerLifecycleTest.LONG_HEARTBEAT_MS;
import static dev.shardline.worker.server.WorkerLifecycleTest.assign;
import static dev.shardline.worker.server.WorkerLifecycleTest.whole;
import static dev.shardline.worker.server.WorkerProcessTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sticky CUDA error in the middle of a step (injected: no GPU here) makes the worker leave its pipeline: the step
 * is not reported, its Forward stream ends UNAVAILABLE naming the fault (what makes the coordinator fail the pipeline
 * and move its sequences), a heartbeat goes out at once with WORKER_STATE_FAILED and the message, and the worker
 * stops with the failure recorded (the process would exit 3).
 */
class BackendFaultTest {
    @TempDir
    static Path model;

    @BeforeAll
    static void write() throws Exception {
        TinyModel.write(model);
    }

    @AfterEach
    void noMoreFaults() {
        LoadedLayers.faultInjection = k -> k;
    }

    @Test
    void aStickyCudaErrorEndsTheAssignmentReportsFailedAndStopsTheWorker() throws Exception {
        AtomicBoolean armed = new AtomicBoolean();
        LoadedLayers.faultInjection = k -> new Faulty(k, armed);
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (TestControlPlane cp = TestControlPlane.start(0, LONG_HEARTBEAT_MS)) {
            WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "gpu-fault"), log::add);
            ManagedChannel ch = Channels.open(w.address());
            try (PipelineClient client = PipelineClient.open(connect(ch, cp))) {
                armed.set(true);
                client.send(MicroBatchHeader.newBuilder().setPipelineId(4).setPlanEpoch(1).setStepId(1)
                        .addEntries(BatchEntry.newBuilder().setSequenceId(1).setWantLogits(true).addTokenIds(5)
                                .addTokenIds(17).setFirstPosition(0).setRows(2).addAllBlockTable(List.of(0, 1))
                                .setSampling(SamplerParams.newBuilder().setTemperature(0).setPromptTokens(2)))
                        .build());
                Status ended = client.ended.get(10, TimeUnit.SECONDS);
                assertEquals(Status.Code.UNAVAILABLE, ended.getCode());
                assertTrue(ended.getDescription().contains("the backend failed")
                        && ended.getDescription().contains("an illegal memory access"), ended.getDescription());
                await("a FAILED heartbeat", () -> cp.heartbeats.stream().anyMatch(h -> h.getState()
                        == WorkerState.WORKER_STATE_FAILED));
                HeartbeatRequest beat = cp.heartbeats.stream().filter(h -> h.getState() == WorkerState.WORKER_STATE_FAILED)
                        .findFirst().orElseThrow();
                assertTrue(beat.getError().contains("read 128 floats") && beat.getError().contains("cudaError 700")
                        && beat.getError().contains("restart the worker"), beat.getError());
                assertEquals(0, beat.getPlanEpoch(), "it left its pipeline");
                assertTrue(w.awaitStopped(Duration.ofSeconds(10)), "the worker stops");
                assertTrue(w.failure().contains("illegal memory access"), w.failure());
                assertTrue(cp.results.isEmpty(), "the failed step is not reported: its sequences migrate");
                assertTrue(log.stream().anyMatch(l -> l.startsWith("the backend failed: ") && l.contains("leaving pipeline 4")),
                        String.join("\n", log));
            } finally {
                Channels.close(ch);
                w.close();
            }
        }
    }

    @Test
    void anOrdinaryStepFailureIsReportedAndTheWorkerKeepsServing() throws Exception {
        try (TestControlPlane cp = TestControlPlane.start(0, LONG_HEARTBEAT_MS)) {
            WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "bad-input"), s -> { });
            ManagedChannel ch = Channels.open(w.address());
            try (PipelineClient client = PipelineClient.open(connect(ch, cp))) {
                client.send(MicroBatchHeader.newBuilder().setPipelineId(4).setPlanEpoch(1).setStepId(1)
                        .addEntries(BatchEntry.newBuilder().setSequenceId(1).setWantLogits(true).addTokenIds(999_999)
                                .setFirstPosition(0).setRows(1).addAllBlockTable(List.of(0))
                                .setSampling(SamplerParams.newBuilder().setTemperature(0).setPromptTokens(1)))
                        .build());
                assertTrue(!cp.nextResult().getError().isEmpty(), "reported as a failed step");
                assertEquals(WorkerState.WORKER_STATE_READY, w.state());
                assertNull(w.failure());
            } finally {
                Channels.close(ch);
                w.close();
            }
        }
    }

    /** Assigns the whole tiny model (pipeline 4, epoch 1) and returns the channel. */
    private static ManagedChannel connect(ManagedChannel ch, TestControlPlane cp) {
        assign(ch, whole(cp, 1).build());
        return ch;
    }

    /** The reference kernels, with a sticky fault reported by the first matmul once armed. */
    private record Faulty(Kernels k, AtomicBoolean armed) implements Kernels {
        @Override
        public void matmul(Activations x, int tokens, WeightTensor w, WeightTensor bias, Activations out) {
            if (armed.getAndSet(false)) {
                throw new CudaException("read 128 floats from the device", 700, "an illegal memory access was encountered");
            }
            k.matmul(x, tokens, w, bias, out);
        }

        @Override public String name() { return k.name(); }
        @Override public Activations allocate(long floats) { return k.allocate(floats); }
        @Override public void write(float[] s, int so, Activations d, long o, int n) { k.write(s, so, d, o, n); }
        @Override public void read(Activations s, long o, float[] d, int dOff, int n) { k.read(s, o, d, dOff, n); }
        @Override public void copy(Activations s, long so, Activations d, long o, int n) { k.copy(s, so, d, o, n); }
        @Override public void embed(WeightTensor t, int[] ids, Activations out) { k.embed(t, ids, out); }
        @Override public void rmsNorm(Activations x, WeightTensor w, float eps, int t, Activations out) { k.rmsNorm(x, w, eps, t, out); }
        @Override public void rope(Activations x, int t, int h, int d, Activations c, Activations s) { k.rope(x, t, h, d, c, s); }
        @Override public void storeKv(Activations kk, Activations v, AttentionBatch b, KvLayer kv) { k.storeKv(kk, v, b, kv); }
        @Override public void attention(Activations q, Activations out, AttentionBatch b, KvLayer kv) { k.attention(q, out, b, kv); }
        @Override public void swiglu(Activations g, Activations u, int n, Activations out) { k.swiglu(g, u, n, out); }
        @Override public void add(Activations acc, Activations x, int n) { k.add(acc, x, n); }
        @Override public void close() { k.close(); }
    }
}
