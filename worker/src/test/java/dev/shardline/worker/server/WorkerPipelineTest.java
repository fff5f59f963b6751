package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.ModelFingerprint;

import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.FreeRequest;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.LoadProgress;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.SampledToken;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageStatus;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import dev.shardline.proto.stage.v1.StageTiming;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.proto.stage.v1.WorkerState;
import dev.shardline.worker.stage.SampledResult;
import dev.shardline.worker.stage.StageExecutor;
import dev.shardline.worker.stage.StageOutput;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_BF16;
import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real workers over gRPC on loopback: a test ControlPlane, three WorkerProcesses on one tiny seeded model, layer
 * ranges assigned to 2 or 3 of them, and greedy generation of three sequences of different lengths driven into
 * stage 0 the way the coordinator will (chunked prefill, then decode; two micro-batches in flight). With f32
 * activations the token ids equal those of the whole model in one process on the same micro-batches, and those of
 * each sequence alone.
 */
class WorkerPipelineTest {
    static final int VOCAB_LIMIT = 500;
    static final List<int[]> PROMPTS = GreedyWorkload.prompts(3, 5, 9, 13);
    static final int CHUNK = 6;
    static final int NEW_TOKENS = 6;

    @TempDir
    static Path model;
    static TestControlPlane cp;
    static final List<WorkerProcess> workers = new ArrayList<>();
    static final List<ManagedChannel> channels = new ArrayList<>();
    static final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    static final List<AutoCloseable> opened = new ArrayList<>();
    static Map<Long, List<Integer>> expected;
    static long epoch;

    @BeforeAll
    static void startCluster() throws Exception {
        TinyModel.write(model);
        cp = TestControlPlane.start(0);
        for (int i = 0; i < 3; i++) {
            WorkerProcess w = WorkerProcess.start(TinyModel.worker(model, cp.address(), "w" + i), log::add);
            workers.add(w);
            channels.add(Channels.open(w.address()));
        }
        StageExecutor whole = TinyModel.wholeModel(model, GreedyWorkload.kvBlocks(PROMPTS.size()),
                GreedyWorkload.BLOCK_SIZE, VOCAB_LIMIT, opened);
        expected = workload().run(round -> {
            Map<Long, Integer> out = new HashMap<>();
            for (MicroBatchHeader h : round) {
                StageOutput o = whole.execute(ProtoMapping.entries(h, 512, GreedyWorkload.kvBlocks(PROMPTS.size()),
                        GreedyWorkload.BLOCK_SIZE), null, h.getFinishedSequenceIdsList());
                for (SampledResult r : o.sampled()) out.put(r.sequenceId(), r.tokenId());
            }
            return out;
        });
    }

    @AfterAll
    static void stopCluster() throws Exception {
        channels.forEach(Channels::close);
        workers.forEach(WorkerProcess::close);
        cp.close();
        for (AutoCloseable c : opened) c.close();
    }

    static GreedyWorkload workload() {
        return new GreedyWorkload(0, epoch, PROMPTS, CHUNK, NEW_TOKENS);
    }

    /** Assigns [bounds[i], bounds[i+1]) to workers 0..k-1, last stage first; returns the ready messages. */
    static List<LoadProgress> assign(int[] bounds, ActivationDtype dtype, int maxMessageBytes, int vocabLimit) {
        epoch++;
        int k = bounds.length - 1;
        List<LoadProgress> ready = new ArrayList<>();
        for (int i = k - 1; i >= 0; i--) {
            LayerAssignment a = LayerAssignment.newBuilder()
                    .setPipelineId(0).setPlanEpoch(epoch).setStageIndex(i).setStageCount(k)
                    .setLayerStart(bounds[i]).setLayerEnd(bounds[i + 1])
                    .setHasEmbedding(i == 0).setHasHead(i == k - 1)
                    .setModelDir(model.toString()).setModelFingerprint(workers.get(i).modelFingerprint())
                    .setKvBlocks(GreedyWorkload.kvBlocks(PROMPTS.size())).setBlockSize(GreedyWorkload.BLOCK_SIZE)
                    .setActivationDtype(dtype).setMaxMessageBytes(maxMessageBytes)
                    .setNextStageAddress(i == k - 1 ? "coordinator" : workers.get(i + 1).address())
                    .setCoordinatorAddress(cp.address())
                    .setSampleVocabLimit(vocabLimit)
                    .build();
            List<LoadProgress> events = new ArrayList<>();
            long loadsBefore = workers.get(i).weightLoads();
            Iterator<LoadProgress> it = StageGrpc.newBlockingStub(channels.get(i)).assign(a);
            it.forEachRemaining(events::add);
            LoadProgress last = events.getLast();
            assertTrue(last.hasReady(), "the Assign stream ends with StageReady");
            if (workers.get(i).weightLoads() > loadsBefore) {
                assertEquals(bounds[i + 1] - bounds[i], events.get(events.size() - 2).getProgress().getLayersDone());
            } else {
                assertEquals(1, events.size(), "a reuse of the held layers maps nothing: StageReady alone");
            }
            assertEquals((long) GreedyWorkload.kvBlocks(PROMPTS.size()) * GreedyWorkload.BLOCK_SIZE,
                    last.getReady().getKvCapacityTokens());
            assertTrue(last.getReady().getWeightBytes() > 0);
            ready.add(0, last);
        }
        return ready;
    }

    /** Runs the workload through stage 0; checks every StepResult and the client's credit discipline. */
    static Map<Long, List<Integer>> generate(int stages) throws Exception {
        cp.results.clear();
        try (PipelineClient client = PipelineClient.open(channels.get(0))) {
            List<Long> resultSteps = new ArrayList<>();
            List<Long> sentSteps = new ArrayList<>();
            Map<Long, List<Integer>> out = workload().run(round -> {
                for (MicroBatchHeader h : round) {
                    client.send(h);
                    sentSteps.add(h.getStepId());
                }
                Map<Long, Integer> sampled = new HashMap<>();
                for (int i = 0; i < round.size(); i++) {
                    StepResult r = cp.nextResult();
                    assertEquals("", r.getError(), "step " + r.getStepId());
                    resultSteps.add(r.getStepId());
                    assertEquals(stages, r.getTimingsCount(), "one timing per stage");
                    for (int s = 0; s < stages; s++) {
                        StageTiming t = r.getTimings(s);
                        assertEquals(s, t.getStageIndex());
                        assertTrue(t.getComputeMs() >= 0 && t.getQueueMs() >= 0 && t.getSendWaitMs() >= 0);
                    }
                    for (SampledToken t : r.getTokensList()) sampled.put(t.getSequenceId(), t.getTokenId());
                }
                return sampled;
            });
            client.drainAcks();
            assertEquals(sentSteps, resultSteps, "one StepResult per step, in step order");
            assertEquals(sentSteps, client.ackedSteps, "one ack per micro-batch, in order");
            assertTrue(client.maxUnacked <= StageRuntime.CREDIT && client.maxUnacked == 2,
                    "two micro-batches in flight, never more than the credit: " + client.maxUnacked);
            return out;
        }
    }

    @Test
    void workersRegisterWithTheirFingerprintAndHeartbeat() throws Exception {
        String fingerprint = ModelFingerprint.of(model);
        for (WorkerProcess w : workers) {
            RegisterRequest r = cp.registrations.stream().filter(x -> x.getWorkerId().equals(w.workerId())).findFirst()
                    .orElseThrow();
            assertEquals("w" + workers.indexOf(w), w.workerId());
            assertEquals("127.0.0.1:" + w.port(), r.getAddress());
            assertEquals(fingerprint, r.getModelFingerprint());
            assertEquals(List.of(ACTIVATION_DTYPE_BF16, ACTIVATION_DTYPE_F32), r.getActivationDtypesList());
            assertEquals("reference", r.getBackend());
            assertEquals(1L << 30, r.getMemoryBudgetBytes());
            assertEquals(1.0, r.getRelativeSpeed());
        }
        long deadline = System.currentTimeMillis() + 5000;
        while (cp.heartbeats.stream().map(HeartbeatRequest::getWorkerId).distinct().count() < 3
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(3, cp.heartbeats.stream().map(HeartbeatRequest::getWorkerId).distinct().count());
    }

    @Test
    void twoStagesGenerateWhatOneProcessGenerates() throws Exception {
        assign(new int[]{0, 2, 3}, ACTIVATION_DTYPE_F32, 0, VOCAB_LIMIT);
        assertEquals(expected, generate(2));
        assertTrue(log.stream().anyMatch(l -> l.startsWith("loading layers [0, 2): 2/2, ")), String.join("\n", log));
    }

    @Test
    void threeStagesGenerateWhatOneProcessGenerates() throws Exception {
        assign(new int[]{0, 1, 2, 3}, ACTIVATION_DTYPE_F32, 0, VOCAB_LIMIT);
        assertEquals(expected, generate(3));
    }

    @Test
    void batchedEqualsAlone() throws Exception {
        for (int i = 0; i < PROMPTS.size(); i++) {
            List<AutoCloseable> mine = new ArrayList<>();
            StageExecutor alone = TinyModel.wholeModel(model, GreedyWorkload.kvBlocks(PROMPTS.size()),
                    GreedyWorkload.BLOCK_SIZE, VOCAB_LIMIT, mine);
            Map<Long, List<Integer>> one = new GreedyWorkload(0, 0, List.of(PROMPTS.get(i)), CHUNK, NEW_TOKENS).run(round -> {
                Map<Long, Integer> out = new HashMap<>();
                for (MicroBatchHeader h : round) {
                    StageOutput o = alone.execute(ProtoMapping.entries(h, 512, 64, GreedyWorkload.BLOCK_SIZE), null, List.of());
                    for (SampledResult r : o.sampled()) out.put(r.sequenceId(), r.tokenId());
                }
                return out;
            });
            assertEquals(expected.get(100L + i), one.get(100L), "sequence " + i + " alone");
            for (AutoCloseable c : mine) c.close();
        }
    }

    @Test
    void bf16ActivationsReachTheLastStageAndTokensStayBelowTheVocabLimit() throws Exception {
        assign(new int[]{0, 1, 2, 3}, ACTIVATION_DTYPE_BF16, 0, 300);
        Map<Long, List<Integer>> got = generate(3);
        assertEquals(expected.keySet(), got.keySet());
        for (List<Integer> tokens : got.values()) {
            assertEquals(NEW_TOKENS, tokens.size());
            assertTrue(tokens.stream().allMatch(t -> t >= 0 && t < 300), tokens.toString());
        }
        long rows = PROMPTS.stream().mapToLong(p -> p.length).sum() + (long) PROMPTS.size() * (NEW_TOKENS - 1);
        StageStatus s0 = status(0);
        StageStatus s1 = status(1);
        assertEquals(rows * 64 * 2, s0.getLoad().getActivationBytesSent(), "bf16: 2 bytes per element");
        assertEquals(s0.getLoad().getActivationBytesSent(), s1.getLoad().getActivationBytesReceived());
    }

    @Test
    void microBatchesLargerThanOneMessageAreChunked() throws Exception {
        int limit = 1024; // prefill micro-batches hold up to 12 rows x 64 x 4 bytes = 3 KiB
        assign(new int[]{0, 2, 3}, ACTIVATION_DTYPE_F32, limit, VOCAB_LIMIT);
        assertEquals(expected, generate(2));
        StageStats stats = workers.getFirst().runtime().active().stats;
        long steps = status(0).getLoad().getStepsCompleted();
        assertTrue(stats.chunksSent() > steps, stats.chunksSent() + " chunks for " + steps + " steps");
        assertTrue(stats.largestMessageSent() <= limit, "largest message " + stats.largestMessageSent());
    }

    @Test
    void statusFreeSequencesAndHeartbeatsDescribeTheStage() throws Exception {
        assign(new int[]{0, 2, 3}, ACTIVATION_DTYPE_F32, 0, VOCAB_LIMIT);
        generate(2);
        StageStatus last = status(1);
        assertEquals(WorkerState.WORKER_STATE_READY, last.getState());
        assertEquals(workers.get(1).workerId(), last.getWorkerId());
        assertEquals(2, last.getAssignment().getLayerStart());
        assertTrue(last.getLoad().getStepsCompleted() > 0);
        assertTrue(last.getLoad().getBusyFraction() > 0 && last.getLoad().getBusyFraction() <= 1);
        // the group that finished last never sent another micro-batch: its sequence is still known
        int live = last.getLiveSequences();
        assertTrue(live >= 1, "live " + live);
        assertTrue(last.getKvBlocksUsed() >= live && last.getKvBlocksUsed() <= live * GreedyWorkload.BLOCKS_PER_SEQUENCE,
                "blocks used " + last.getKvBlocksUsed());
        List<Long> ids = List.of(100L, 101L, 102L);
        int freed = StageGrpc.newBlockingStub(channels.get(1)).freeSequences(FreeRequest.newBuilder().setPipelineId(0)
                .addAllSequenceIds(ids).build()).getFreed();
        assertEquals(live, freed);
        assertEquals(0, status(1).getLiveSequences());
        assertEquals(0, workers.get(1).runtime().active().executor.trackedSequences());
        long deadline = System.currentTimeMillis() + 3000;
        String id = workers.get(1).workerId();
        // a heartbeat sent while the stage was still loading may already count its KV blocks: take a ready one
        while (cp.heartbeats.stream().noneMatch(h -> h.getWorkerId().equals(id) && h.getState() == WorkerState.WORKER_STATE_READY)
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        HeartbeatRequest beat = cp.heartbeats.stream().filter(h -> h.getWorkerId().equals(id)
                && h.getState() == WorkerState.WORKER_STATE_READY).findFirst().orElseThrow();
        assertEquals(0, beat.getPipelineId());
        assertTrue(beat.getPlanEpoch() > 0, "a ready stage reports its epoch");
        assertEquals(GreedyWorkload.kvBlocks(PROMPTS.size()), beat.getKvBlocksTotal());
    }

    static StageStatus status(int worker) {
        return StageGrpc.newBlockingStub(channels.get(worker)).getStageStatus(StageStatusRequest.getDefaultInstance());
    }
}
