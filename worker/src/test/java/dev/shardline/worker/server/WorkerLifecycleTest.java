package dev.shardline.worker.server;

import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.LoadProgress;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.SamplerParams;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageStatus;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.proto.stage.v1.WorkerState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_F32;
import static dev.shardline.worker.server.WorkerProcessTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker across assignments and coordinators: it keeps its layers when the coordinator goes away and registers
 * again with them; an Assign of the layers it holds reuses them (and serves the same tokens as a fresh worker), of
 * other layers loads; RELEASE of its epoch ends the assignment but keeps the layers, of another epoch is ignored;
 * a broken link is reported at once.
 */
class WorkerLifecycleTest {
    /** Long enough that no regular heartbeat comes during a test: a heartbeat that arrives was sent at once. */
    static final int LONG_HEARTBEAT_MS = 60_000;
    static final int[] PROMPT = {5, 17, 300, 42, 7, 99, 12, 3, 250};

    @TempDir
    static Path model;

    @BeforeAll
    static void write() throws Exception {
        TinyModel.write(model);
    }

    static LayerAssignment.Builder whole(TestControlPlane cp, long epoch) {
        return LayerAssignment.newBuilder().setPipelineId(4).setPlanEpoch(epoch).setStageIndex(0).setStageCount(1)
                .setLayerStart(0).setLayerEnd(3).setHasEmbedding(true).setHasHead(true).setKvBlocks(16).setBlockSize(4)
                .setActivationDtype(ACTIVATION_DTYPE_F32).setNextStageAddress("coordinator")
                .setCoordinatorAddress(cp.address()).setSampleVocabLimit(500);
    }

    static List<LoadProgress> assign(ManagedChannel channel, LayerAssignment a) {
        List<LoadProgress> events = new ArrayList<>();
        StageGrpc.newBlockingStub(channel).assign(a).forEachRemaining(events::add);
        assertTrue(events.getLast().hasReady());
        return events;
    }

    /** The standard gRPC health check on the stage port, as Kubernetes' gRPC readiness probe asks it. */
    static ServingStatus health(ManagedChannel channel, String service) {
        return HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    }

    static StageStatus status(ManagedChannel channel) {
        return StageGrpc.newBlockingStub(channel).getStageStatus(StageStatusRequest.getDefaultInstance());
    }

    /** Seeded sampling of n tokens for one sequence through a whole-model stage, the way the coordinator drives it. */
    static List<Integer> generate(ManagedChannel channel, TestControlPlane cp, long epoch, int n) throws Exception {
        cp.results.clear();
        List<Integer> out = new ArrayList<>();
        try (PipelineClient client = PipelineClient.open(channel)) {
            for (int i = 0; i < n; i++) {
                BatchEntry.Builder e = BatchEntry.newBuilder().setSequenceId(1).setWantLogits(true).setGeneratedCount(i)
                        .addAllBlockTable(List.of(0, 1, 2, 3, 4));
                if (i == 0) {
                    for (int t : PROMPT) e.addTokenIds(t);
                    e.setFirstPosition(0).setRows(PROMPT.length).setSampling(SamplerParams.newBuilder().setTemperature(0.9)
                            .setTopP(0.95).setPresencePenalty(0.5).setSeed(1234).setPromptTokens(PROMPT.length));
                } else {
                    e.addTokenIds(out.getLast()).setFirstPosition(PROMPT.length + i - 1).setRows(1);
                }
                client.send(MicroBatchHeader.newBuilder().setPipelineId(4).setPlanEpoch(epoch).setStepId(i + 1)
                        .addEntries(e).build());
                StepResult r = cp.nextResult();
                assertEquals("", r.getError());
                assertEquals(epoch, r.getPlanEpoch(), "results carry the plan epoch");
                out.add(r.getTokens(0).getTokenId());
            }
            client.drainAcks();
        }
        return out;
    }

    @Test
    void aSameRangeAssignReusesTheLayersAndServesWhatAFreshWorkerServes() throws Exception {
        try (TestControlPlane cp = TestControlPlane.start(0)) {
            WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "reuse"), s -> { });
            WorkerProcess fresh = WorkerProcess.start(TinyModel.worker(model, cp.address(), "fresh"), s -> { });
            ManagedChannel ch = Channels.open(w.address());
            ManagedChannel freshCh = Channels.open(fresh.address());
            try {
                assertTrue(assign(ch, whole(cp, 1).build()).size() > 1, "a first Assign loads, with progress");
                assertEquals(1, w.weightLoads());
                List<Integer> first = generate(ch, cp, 1, 8);
                assertEquals(1, status(ch).getLiveSequences());

                // the same layers, another KV shape and epoch: reused (no progress, no load), sequences forgotten
                List<LoadProgress> events = assign(ch, whole(cp, 2).setKvBlocks(12).build());
                assertEquals(1, events.size(), "StageReady alone: nothing mapped");
                assertEquals(1, w.weightLoads());
                assertEquals(48, events.getLast().getReady().getKvCapacityTokens());
                StageStatus s = status(ch);
                assertEquals(WorkerState.WORKER_STATE_READY, s.getState());
                assertEquals(0, s.getLiveSequences(), "the old assignment's sequences are gone");
                assertEquals(0, w.runtime().active().executor.trackedSequences());
                assertEquals(2, s.getAssignment().getPlanEpoch());
                List<Integer> afterReuse = generate(ch, cp, 2, 8);

                assign(freshCh, whole(cp, 3).build());
                assertEquals(1, fresh.weightLoads());
                List<Integer> fromFresh = generate(freshCh, cp, 3, 8);
                assertEquals(fromFresh, first);
                assertEquals(fromFresh, afterReuse, "a reused stage samples what a fresh one samples");

                // other layers load again, and so do the first ones after that
                assign(ch, whole(cp, 4).setLayerStart(1).setHasEmbedding(false).build());
                assertEquals(2, w.weightLoads());
                assign(ch, whole(cp, 5).build());
                assertEquals(3, w.weightLoads());
                assertEquals(fromFresh, generate(ch, cp, 5, 8));
            } finally {
                Channels.close(ch);
                Channels.close(freshCh);
                w.close();
                fresh.close();
            }
        }
    }

    @Test
    void releaseOfItsEpochKeepsTheLayersAndAnotherEpochIsIgnored() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (TestControlPlane cp = TestControlPlane.start(0)) {
            WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "released"), log::add);
            ManagedChannel ch = Channels.open(w.address());
            try {
                assertEquals(ServingStatus.NOT_SERVING, health(ch, ""), "registered, in the pool: not ready");
                assign(ch, whole(cp, 7).build());
                assertEquals(ServingStatus.SERVING, health(ch, ""), "an assignment with its weights loaded: ready");
                assertEquals(ServingStatus.SERVING, health(ch, StageGrpc.SERVICE_NAME));
                StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> health(ch, "liveness"));
                assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
                assertEquals(1, w.weightLoads());
                generate(ch, cp, 7, 2);
                PipelineClient open = PipelineClient.open(ch);

                cp.release(w.workerId(), 6);
                await("the stale release", () -> log.stream().anyMatch(l -> l.startsWith("ignoring a release of plan epoch 6")));
                assertEquals(WorkerState.WORKER_STATE_READY, w.state());
                assertFalse(open.ended.isDone(), "its Forward stream still open");

                cp.release(w.workerId(), 7);
                await("the release", () -> w.state() == WorkerState.WORKER_STATE_IDLE);
                assertEquals(ServingStatus.NOT_SERVING, health(ch, ""), "released: it holds layers but serves no stage");
                Status ended = open.ended.get(10, TimeUnit.SECONDS);
                assertEquals(Status.Code.UNAVAILABLE, ended.getCode(), "the assignment's Forward streams end");
                open.close();
                StageStatus s = status(ch);
                assertFalse(s.hasAssignment());
                assertEquals(0, s.getLiveSequences());
                int beats = cp.heartbeats.size();
                await("a heartbeat after the release", () -> cp.heartbeats.size() > beats + 1);
                HeartbeatRequest beat = cp.heartbeats.getLast();
                assertEquals(WorkerState.WORKER_STATE_IDLE, beat.getState());
                assertEquals(0, beat.getPlanEpoch(), "no assignment in service");
                assertEquals(16, beat.getKvBlocksTotal(), "the KV cache is still allocated");
                assertEquals(1, beat.getWeightLoads());
                assertEquals(7, w.runtime().heldAssignment().getPlanEpoch(), "it still holds the layers of epoch 7");

                assertEquals(1, assign(ch, whole(cp, 8).build()).size(), "the same layers again: a reuse");
                assertEquals(1, w.weightLoads());
                assertEquals(3, generate(ch, cp, 8, 3).size(), "and it serves");
            } finally {
                Channels.close(ch);
                w.close();
            }
        }
    }

    @Test
    void afterTheCoordinatorRestartsTheWorkerRegistersAgainWithWhatItHolds() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        TestControlPlane cp = TestControlPlane.start(0);
        int port = cp.port();
        WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "survivor"), log::add);
        ManagedChannel ch = Channels.open(w.address());
        try {
            LayerAssignment a = whole(cp, 11).build();
            assign(ch, a);
            RegisterRequest first = cp.registrations.getFirst();
            assertFalse(first.hasCurrentAssignment(), "nothing held at the first registration");
            assertEquals(0, first.getWeightLoads());
            await("a heartbeat with the epoch", () -> cp.heartbeats.stream().anyMatch(h -> h.getPlanEpoch() == 11
                    && h.getPipelineId() == 4 && h.getWeightLoads() == 1 && h.getState() == WorkerState.WORKER_STATE_READY));

            cp.close();
            await("the outage noticed", () -> log.stream().anyMatch(l -> l.contains("is unreachable")));
            assertEquals(WorkerState.WORKER_STATE_READY, w.state(), "the assignment is kept");
            try (TestControlPlane next = TestControlPlane.start(port)) {
                await("registered again", () -> !next.registrations.isEmpty());
                RegisterRequest again = next.registrations.getFirst();
                assertEquals("survivor", again.getWorkerId());
                assertEquals(a, again.getCurrentAssignment());
                assertEquals(1, again.getWeightLoads());
                assertEquals(1, w.weightLoads(), "nothing loaded again");
                assertTrue(log.stream().anyMatch(l -> l.contains("is reachable again")), String.join("\n", log));
                // the new coordinator assigns the same layers (its own epoch, its own result stream): ready without a load
                assertEquals(1, assign(ch, whole(next, 12).build()).size());
                assertEquals(1, w.weightLoads());
                assertEquals(4, generate(ch, next, 12, 4).size());
            }
        } finally {
            Channels.close(ch);
            w.close();
        }
    }

    @Test
    void aBrokenLinkIsReportedAtOnce() throws Exception {
        try (TestControlPlane cp = TestControlPlane.start(0, LONG_HEARTBEAT_MS);
             TestControlPlane results = TestControlPlane.start(0)) {
            WorkerProcess first = WorkerProcess.start(TinyModel.worker(model, cp.address(), "upstream"), s -> { });
            WorkerProcess last = WorkerProcess.start(TinyModel.worker(model, cp.address(), "last"), s -> { });
            ManagedChannel firstCh = Channels.open(first.address());
            ManagedChannel lastCh = Channels.open(last.address());
            try (HoldingStage next = HoldingStage.start()) {
                String nextAddress = next.address();
                String resultsAddress = results.address();
                assign(firstCh, whole(cp, 3).setStageCount(2).setLayerEnd(2).setHasHead(false)
                        .setNextStageAddress(next.address()).build());
                assign(lastCh, whole(results, 3).setStageIndex(1).setStageCount(2).setLayerStart(2)
                        .setHasEmbedding(false).build());
                assertTrue(cp.heartbeats.isEmpty(), "no heartbeat yet: the interval is a minute");

                next.close();       // the next stage goes away
                await("upstream's link error", () -> cp.heartbeats.stream().anyMatch(h -> h.getWorkerId().equals("upstream")
                        && h.getLinkError().contains("next stage at " + nextAddress)));
                results.close();    // the last stage's coordinator goes away
                await("the last stage's link error", () -> cp.heartbeats.stream().anyMatch(h -> h.getWorkerId().equals("last")
                        && h.getLinkError().contains("results stream to the coordinator at " + resultsAddress)));
                HeartbeatRequest beat = cp.heartbeats.stream().filter(h -> h.getWorkerId().equals("last")).findFirst()
                        .orElseThrow();
                assertEquals(3, beat.getPlanEpoch());
                assertEquals(4, beat.getPipelineId());
                assertTrue(beat.getLinkError().contains("UNAVAILABLE") || beat.getLinkError().contains("CANCELLED"),
                        beat.getLinkError());
            } finally {
                Channels.close(firstCh);
                Channels.close(lastCh);
                first.close();
                last.close();
            }
        }
    }
}
