package dev.shardline.coordinator.grpc.stage;

import dev.shardline.coordinator.cluster.ActivationFormat;
import dev.shardline.coordinator.cluster.HeldAssignment;
import dev.shardline.coordinator.cluster.OutboundStep;
import dev.shardline.coordinator.cluster.ReportedState;
import dev.shardline.coordinator.cluster.SamplerSpec;
import dev.shardline.coordinator.cluster.StageAssignment;
import dev.shardline.coordinator.cluster.StageTime;
import dev.shardline.coordinator.cluster.StepOutcome;
import dev.shardline.coordinator.cluster.WorkerBeat;
import dev.shardline.coordinator.cluster.WorkerCommand;
import dev.shardline.coordinator.cluster.WorkerRecord;
import dev.shardline.coordinator.schedule.BatchEntry;
import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.coordinator.schedule.TopLogprob;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.HeartbeatResponse;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.SampledToken;
import dev.shardline.proto.stage.v1.SamplerParams;
import dev.shardline.proto.stage.v1.StageTiming;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.proto.stage.v1.TokenLogprob;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Translates between the cluster's domain records and {@code shardline.stage.v1} messages, both ways. */
final class StageProtos {

    private StageProtos() {
    }

    static WorkerRecord worker(RegisterRequest r) {
        HeldAssignment held = r.hasCurrentAssignment() && r.getCurrentAssignment().getPlanEpoch() != 0
                ? held(r.getCurrentAssignment()) : null;
        return new WorkerRecord(r.getWorkerId(), r.getAddress(), r.getBackend(), r.getThreads(), r.getMemoryBudgetBytes(),
                r.getModelFingerprint(), r.getRelativeSpeed() > 0 ? r.getRelativeSpeed() : 1.0, held, r.getWeightLoads(),
                r.getKvBytesPerElement() > 0 ? r.getKvBytesPerElement() : Float.BYTES);
    }

    static HeldAssignment held(LayerAssignment a) {
        return new HeldAssignment(a.getPipelineId(), a.getPlanEpoch(),
                new LayerRange(a.getLayerStart(), a.getLayerEnd(), a.getHasEmbedding(), a.getHasHead()),
                a.getKvBlocks(), a.getBlockSize());
    }

    static WorkerBeat beat(HeartbeatRequest h) {
        ReportedState state = switch (h.getState()) {
            case WORKER_STATE_IDLE -> ReportedState.IDLE;
            case WORKER_STATE_LOADING -> ReportedState.LOADING;
            case WORKER_STATE_READY -> ReportedState.READY;
            case WORKER_STATE_DRAINING -> ReportedState.DRAINING;
            case WORKER_STATE_FAILED -> ReportedState.FAILED;
            default -> ReportedState.UNKNOWN;
        };
        return new WorkerBeat(h.getWorkerId(), state, h.getPipelineId(), h.getPlanEpoch(), h.getKvBlocksUsed(),
                h.getKvBlocksTotal(), h.getLiveSequences(), h.getError(), h.getLinkError(), h.getDrainRequested(),
                h.getWeightLoads(), h.getLoad().getBusyFraction(), h.getLoad().getStepsCompleted(),
                h.getLoad().getActivationBytesSent());
    }

    static HeartbeatResponse command(WorkerCommand c) {
        dev.shardline.proto.stage.v1.WorkerCommand kind = switch (c.kind()) {
            case NONE -> dev.shardline.proto.stage.v1.WorkerCommand.WORKER_COMMAND_NONE;
            case REGISTER -> dev.shardline.proto.stage.v1.WorkerCommand.WORKER_COMMAND_REGISTER;
            case RELEASE -> dev.shardline.proto.stage.v1.WorkerCommand.WORKER_COMMAND_RELEASE;
            case DRAIN -> dev.shardline.proto.stage.v1.WorkerCommand.WORKER_COMMAND_DRAIN;
        };
        return HeartbeatResponse.newBuilder().setCommand(kind).setReason(c.reason()).setPlanEpoch(c.epoch()).build();
    }

    static ActivationDtype dtype(ActivationFormat f) {
        return f == ActivationFormat.F32 ? ActivationDtype.ACTIVATION_DTYPE_F32 : ActivationDtype.ACTIVATION_DTYPE_BF16;
    }

    static LayerAssignment assignment(StageAssignment a) {
        return LayerAssignment.newBuilder().setPipelineId(a.pipelineId()).setPlanEpoch(a.epoch())
                .setStageIndex(a.stageIndex()).setStageCount(a.stageCount())
                .setLayerStart(a.range().start()).setLayerEnd(a.range().end())
                .setHasEmbedding(a.range().embedding()).setHasHead(a.range().head())
                .setModelDir(a.modelDir().toAbsolutePath().toString()).setModelFingerprint(a.modelFingerprint())
                .setKvBlocks(a.kvBlocks()).setBlockSize(a.blockSize()).setActivationDtype(dtype(a.activations()))
                .setMaxMessageBytes(a.maxMessageBytes())
                .setNextStageAddress(a.last() ? "coordinator" : a.nextStageAddress())
                .setCoordinatorAddress(a.coordinatorAddress()).setSampleVocabLimit(a.sampleVocabLimit()).build();
    }

    static MicroBatchHeader header(OutboundStep step) {
        MicroBatchHeader.Builder h = MicroBatchHeader.newBuilder().setPipelineId(step.pipelineId())
                .setPlanEpoch(step.epoch()).setStepId(step.batch().stepId())
                .addAllFinishedSequenceIds(step.batch().finishedSequenceIds()).setHiddenDtype(dtype(step.activations()));
        for (BatchEntry e : step.batch().entries()) {
            dev.shardline.proto.stage.v1.BatchEntry.Builder b = dev.shardline.proto.stage.v1.BatchEntry.newBuilder()
                    .setSequenceId(e.sequenceId()).setFirstPosition(e.firstPosition()).setRows(e.rows())
                    .setWantLogits(e.wantLogits()).setGeneratedCount(e.generatedCount());
            for (int t : e.tokens()) b.addTokenIds(t);
            for (int blk : e.blockTable()) b.addBlockTable(blk);
            SamplerSpec spec = step.sampling().get(e.sequenceId());
            if (e.includeSamplingParams() && spec != null) b.setSampling(sampler(spec));
            h.addEntries(b);
        }
        return h.build();
    }

    static SamplerParams sampler(SamplerSpec s) {
        SamplingParams p = s.params();
        SamplerParams.Builder b = SamplerParams.newBuilder().setTemperature(p.temperature()).setTopP(p.topP())
                .setTopK(p.topK()).setMinP(p.minP()).setPresencePenalty(p.presencePenalty())
                .setFrequencyPenalty(p.frequencyPenalty()).setRepetitionPenalty(p.repetitionPenalty())
                .setSeed(s.seed()).setPromptTokens(s.promptTokens()).setTopLogprobs(p.topLogprobs());
        for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) b.putLogitBias(e.getKey(), e.getValue());
        for (int id : s.forcedTokenIds()) b.addForcedTokenIds(id);
        return b.build();
    }

    static StepOutcome outcome(StepResult r) {
        List<SampledTokenResult> tokens = new ArrayList<>(r.getTokensCount());
        for (SampledToken t : r.getTokensList()) {
            List<TopLogprob> top = new ArrayList<>(t.getTopLogprobsCount());
            for (TokenLogprob lp : t.getTopLogprobsList()) top.add(new TopLogprob(lp.getTokenId(), lp.getLogprob()));
            tokens.add(new SampledTokenResult(t.getSequenceId(), t.getTokenId(), t.getLogprob(), top));
        }
        List<StageTime> timings = new ArrayList<>(r.getTimingsCount());
        for (StageTiming t : r.getTimingsList()) {
            timings.add(new StageTime(t.getStageIndex(), t.getQueueMs(), t.getComputeMs(), t.getSendWaitMs()));
        }
        return new StepOutcome(r.getPipelineId(), r.getPlanEpoch(), r.getStepId(), tokens, timings, r.getError());
    }
}
