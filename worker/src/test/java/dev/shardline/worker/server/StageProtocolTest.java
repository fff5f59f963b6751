package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.SampledToken;
import dev.shardline.proto.stage.v1.SamplerParams;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.proto.stage.v1.TokenLogprob;
import dev.shardline.proto.stage.v1.codec.ActivationCodec;
import dev.shardline.proto.stage.v1.codec.EncodedActivations;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Forward contract on a real worker: credit and back-pressure, malformed input, failing steps. */
class StageProtocolTest {
    @TempDir
    static Path model;
    static TestControlPlane cp;
    WorkerProcess worker;
    ManagedChannel channel;

    @BeforeAll
    static void setUp() throws Exception {
        TinyModel.write(model);
        cp = TestControlPlane.start(0);
    }

    @AfterAll
    static void tearDown() throws Exception {
        cp.close();
    }

    @AfterEach
    void stopWorker() {
        Channels.close(channel);
        worker.close();
    }

    void startWorker(int stage, int stages, int start, int end, String next) {
        worker = WorkerProcess.start(TinyModel.worker(model, cp.address(), "protocol-" + stage + "-of-" + stages), s -> { });
        channel = Channels.open(worker.address());
        LayerAssignment a = LayerAssignment.newBuilder().setPipelineId(3).setPlanEpoch(1).setStageIndex(stage)
                .setStageCount(stages).setLayerStart(start).setLayerEnd(end).setHasEmbedding(stage == 0)
                .setHasHead(stage == stages - 1).setKvBlocks(16).setBlockSize(4).setActivationDtype(ACTIVATION_DTYPE_F32)
                .setNextStageAddress(next).setCoordinatorAddress(cp.address()).build();
        StageGrpc.newBlockingStub(channel).assign(a).forEachRemaining(p -> { });
    }

    static MicroBatchHeader.Builder header(long step, long sequence, int position, boolean params, int... tokens) {
        BatchEntry.Builder e = BatchEntry.newBuilder().setSequenceId(sequence).setFirstPosition(position)
                .setRows(tokens.length).setWantLogits(true);
        for (int t : tokens) e.addTokenIds(t);
        for (int b = 0; b <= (position + tokens.length - 1) / 4; b++) e.addBlockTable(b + 4 * (int) (sequence % 4));
        if (params) e.setSampling(SamplerParams.newBuilder().setSeed(1));
        return MicroBatchHeader.newBuilder().setPipelineId(3).setPlanEpoch(1).setStepId(step).addEntries(e);
    }

    @Test
    void aStageWaitingForDownstreamCreditStopsAcknowledgingAndTheSenderMustWait() throws Exception {
        try (HoldingStage next = HoldingStage.start()) {
            startWorker(0, 2, 0, 2, next.address());
            try (PipelineClient client = PipelineClient.open(channel)) {
                assertEquals(StageRuntime.CREDIT, client.credit());
                client.send(header(1, 1, 0, true, 5, 6, 7).build());
                client.send(header(2, 1, 3, false, 8).build());
                assertTrue(next.nextHeader(5000).getHeader().getStepId() == 1, "step 1 goes downstream");
                client.send(header(3, 1, 4, false, 9).build());   // waits for the ack of step 1
                client.send(header(4, 1, 5, false, 10).build());  // waits for the ack of step 2 (computed, held)
                assertEquals(List.of(1L, 2L), client.ackedSteps);
                // step 2 waits for downstream credit, steps 3 and 4 wait in the inbox: no ack, nothing sent on
                assertNull(client.acks.poll(500, TimeUnit.MILLISECONDS), "no credit comes back while downstream holds");
                assertNull(next.nextHeader(0));
                assertEquals(2, StageGrpc.newBlockingStub(channel).getStageStatus(StageStatusRequest.getDefaultInstance())
                        .getLoad().getMicroBatchesQueued());

                next.auto(true);
                next.ack(1);
                List<Long> downstream = new ArrayList<>();
                MicroBatchHeader step2 = null;
                for (int i = 0; i < 3; i++) {
                    MicroBatchHeader h = next.nextHeader(5000).getHeader();
                    downstream.add(h.getStepId());
                    if (h.getStepId() == 2) step2 = h;
                }
                assertEquals(List.of(2L, 3L, 4L), downstream);
                assertTrue(step2.getTimings(0).getSendWaitMs() >= 400, "step 2 waited for credit: "
                        + step2.getTimings(0).getSendWaitMs());
                assertEquals(64 * 4, step2.getActivationBytes(), "one decode row of f32");
                client.drainAcks();
                assertEquals(List.of(1L, 2L, 3L, 4L), client.ackedSteps);
                assertTrue(client.maxUnacked <= StageRuntime.CREDIT);
            }

            // a sender that ignores the credit is cut off, naming the step
            next.auto(false);
            try (PipelineClient rude = PipelineClient.open(channel)) {
                for (long step = 10; step < 15; step++) {
                    rude.sendIgnoringCredit(StageMessage.newBuilder().setHeader(header(step, 2, (int) step - 10,
                            step == 10, 11)).build());
                }
                Status s = rude.ended.get(10, TimeUnit.SECONDS);
                assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
                assertTrue(s.getDescription().matches("step 1[234]: .*credit.*"), s.getDescription());
            }
        }
    }

    @Test
    void malformedActivationsEndTheStreamNamingTheStep() throws Exception {
        startWorker(1, 2, 2, 3, "coordinator");
        float[] hidden = new float[2 * 64];
        EncodedActivations enc = ActivationCodec.encode(7, hidden, 2, 64, ACTIVATION_DTYPE_F32, 300);
        assertTrue(enc.chunks().size() >= 2);
        try (PipelineClient client = PipelineClient.open(channel)) {
            client.send(enc.describe(header(7, 1, 0, true, 3, 4)).build());
            ActivationChunk second = enc.chunks().get(1);
            client.sendIgnoringCredit(StageMessage.newBuilder().setChunk(second).build());
            Status s = client.ended.get(10, TimeUnit.SECONDS);
            assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
            assertTrue(s.getDescription().startsWith("step 7: chunk 1 arrived where chunk 0 was expected"), s.getDescription());
        }
        try (PipelineClient client = PipelineClient.open(channel)) {
            MicroBatchHeader wrongCols = header(8, 1, 0, true, 3, 4).setHiddenDtype(ACTIVATION_DTYPE_F32).setHiddenRows(2)
                    .setHiddenCols(32).setActivationBytes(256).setChunkCount(1).build();
            client.send(wrongCols);
            client.sendIgnoringCredit(StageMessage.newBuilder().setChunk(ActivationChunk.newBuilder().setStepId(8)
                    .setData(ByteString.copyFrom(new byte[256]))).build());
            Status s = client.ended.get(10, TimeUnit.SECONDS);
            assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
            assertTrue(s.getDescription().startsWith("step 8: hidden state is [2, 32]"), s.getDescription());
        }
    }

    @Test
    void aFailingStepIsReportedAndTheStageKeepsServing() throws Exception {
        startWorker(0, 1, 0, 3, "coordinator");
        cp.results.clear();
        try (PipelineClient client = PipelineClient.open(channel)) {
            client.send(header(1, 1, 0, false, 5, 6).build());             // no sampling params: the last stage fails it
            client.send(header(2, 2, 0, true, 5, 9999).build());           // token id outside the vocabulary
            client.send(header(3, 3, 0, true, 5, 6).setPlanEpoch(9).build()); // another plan epoch: refused
            client.send(header(4, 1, 0, true, 5, 6).build());              // fine
            StepResult r1 = cp.nextResult();
            StepResult r2 = cp.nextResult();
            StepResult r3 = cp.nextResult();
            StepResult r4 = cp.nextResult();
            assertEquals(List.of(1L, 2L, 3L, 4L), List.of(r1.getStepId(), r2.getStepId(), r3.getStepId(), r4.getStepId()));
            assertTrue(r1.getError().contains("sequence 1 reached the last stage without sampling parameters"), r1.getError());
            assertTrue(r2.getError().contains("step 2, sequence 2: token id 9999 is outside the vocabulary [0, 512)"),
                    r2.getError());
            assertTrue(r3.getError().contains("epoch 9"), r3.getError());
            assertTrue(r1.getTokensList().isEmpty() && r2.getTokensList().isEmpty() && r3.getTokensList().isEmpty());
            assertEquals("", r4.getError());
            assertEquals(1, r4.getTokensCount());
            assertEquals(1, r4.getTokens(0).getSequenceId());
            client.drainAcks();
            List<StageAck> none = new ArrayList<>();
            client.acks.drainTo(none);
            assertTrue(none.isEmpty());
        }
        assertFalse(worker.runtime().active() == null, "still assigned");
    }

    static MicroBatchHeader.Builder withParams(long step, long sequence, SamplerParams.Builder params, int... tokens) {
        MicroBatchHeader.Builder h = header(step, sequence, 0, false, tokens);
        h.setEntries(0, h.getEntries(0).toBuilder().setSampling(params));
        return h;
    }

    @Test
    void theLastStageReportsForcedTokensAlternativesAndBiasUnderItsEpoch() throws Exception {
        startWorker(0, 1, 0, 3, "coordinator");
        cp.results.clear();
        SamplerParams.Builder params = SamplerParams.newBuilder().setTemperature(0.7).setSeed(9).setTopLogprobs(3)
                .putLogitBias(42, 100f).addForcedTokenIds(9).addForcedTokenIds(8).setPromptTokens(2);
        try (PipelineClient client = PipelineClient.open(channel)) {
            client.send(withParams(1, 5, params, 5, 6).build());
            client.send(header(2, 5, 2, false, 9).build());
            client.send(header(3, 5, 3, false, 8).build());
            client.send(withParams(4, 6, SamplerParams.newBuilder().setSeed(1).putLogitBias(1, 200f), 5).build());
            client.send(withParams(5, 7, SamplerParams.newBuilder().setSeed(1).addForcedTokenIds(600), 5).build());
            List<StepResult> rs = new ArrayList<>();
            for (int i = 0; i < 5; i++) rs.add(cp.nextResult());
            for (StepResult r : rs) assertEquals(1, r.getPlanEpoch(), "every result names its plan epoch");
            assertEquals(9, rs.get(0).getTokens(0).getTokenId(), "forced");
            assertEquals(8, rs.get(1).getTokens(0).getTokenId(), "forced");
            SampledToken biased = rs.get(2).getTokens(0);
            assertEquals(42, biased.getTokenId(), "+100 on 42");
            assertTrue(biased.getLogprob() < -1, "the model's log-prob, before the bias: " + biased.getLogprob());
            for (StepResult r : rs.subList(0, 3)) {
                List<TokenLogprob> top = r.getTokens(0).getTopLogprobsList();
                assertEquals(3, top.size());
                assertTrue(top.get(0).getLogprob() >= top.get(1).getLogprob() && top.get(1).getLogprob() >= top.get(2).getLogprob());
                assertTrue(top.stream().allMatch(t -> t.getLogprob() <= 0 && t.getTokenId() < 512));
            }
            assertTrue(rs.get(0).getTokens(0).getLogprob() <= rs.get(0).getTokens(0).getTopLogprobs(0).getLogprob());
            assertTrue(rs.get(3).getError().contains("logit_bias[1] must be in [-100, 100]"), rs.get(3).getError());
            assertTrue(rs.get(4).getError().contains("forced token id 600 is outside the vocabulary"), rs.get(4).getError());
            client.drainAcks();
        }
        assertFalse(cp.streamOpeners.isEmpty());
        for (StepResult greeting : cp.streamOpeners) {
            assertEquals(0, greeting.getStepId(), "every results stream opens with the step-0 greeting");
            assertEquals(3, greeting.getPipelineId());
            assertEquals(1, greeting.getPlanEpoch());
            assertEquals(0, greeting.getTokensCount());
        }
    }
}
