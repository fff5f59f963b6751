package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.worker.stage.StageExecutor;
import io.grpc.Status;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * One assignment in service: its plan, the executor over the worker's {@link LoadedLayers} (with this assignment's
 * sequence state: the last stage's samplers), the link downstream (next stage, or the coordinator from the last
 * stage), the sequences it has seen and its counters. Closing it ends the links; the layers stay with the worker.
 */
final class ActiveStage implements AutoCloseable {
    /** How long an Assign waits for the next stage to accept a Forward stream (it may be assigned later). */
    static final Duration NEXT_STAGE_PATIENCE = Duration.ofSeconds(60);

    final AssignmentPlan plan;
    final StageExecutor executor;
    final StageLink next;        // null on the last stage
    final ResultLink results;    // null except on the last stage
    final StageStats stats = new StageStats();
    final SequenceBook book = new SequenceBook();

    private ActiveStage(AssignmentPlan plan, StageExecutor executor, StageLink next, ResultLink results) {
        this.plan = plan;
        this.executor = executor;
        this.next = next;
        this.results = results;
    }

    /**
     * A fresh executor over the layers, then the link downstream: a Forward stream to the next stage (waiting for
     * it for up to {@link #NEXT_STAGE_PATIENCE}), or the results stream to the coordinator on the last stage.
     * A link that breaks later is described to onBrokenLink.
     *
     * @throws AssignException UNAVAILABLE naming next_stage_address when the next stage does not answer
     */
    static ActiveStage open(AssignmentPlan plan, LoadedLayers layers, Consumer<String> onBrokenLink,
                            Consumer<String> log) throws AssignException, InterruptedException {
        LayerAssignment a = plan.assignment();
        StageExecutor executor = new StageExecutor(layers.forward(), layers.cache(), plan.vocabLimit(),
                layers.deviceSampler());
        if (plan.last()) {
            ResultLink results = ResultLink.open(plan.coordinatorAddress(), a.getPipelineId(), a.getPlanEpoch(), log,
                    onBrokenLink);
            return new ActiveStage(plan, executor, null, results);
        }
        try {
            StageLink next = StageLink.connect(a.getNextStageAddress(), NEXT_STAGE_PATIENCE, log, onBrokenLink);
            return new ActiveStage(plan, executor, next, null);
        } catch (LinkException e) {
            throw new AssignException(Status.Code.UNAVAILABLE, "LayerAssignment.next_stage_address: " + e.getMessage(), e);
        }
    }

    LayerAssignment assignment() {
        return plan.assignment();
    }

    int stageIndex() {
        return plan.assignment().getStageIndex();
    }

    long epoch() {
        return plan.assignment().getPlanEpoch();
    }

    boolean first() {
        return plan.range().embedding();
    }

    boolean last() {
        return plan.range().head();
    }

    /** Why this stage does not run a micro-batch of that header (another pipeline or plan epoch), or null. */
    String refusal(MicroBatchHeader h) {
        LayerAssignment a = plan.assignment();
        if (h.getPipelineId() != a.getPipelineId() || h.getPlanEpoch() != a.getPlanEpoch()) {
            return "step " + h.getStepId() + " is for pipeline " + h.getPipelineId() + " epoch " + h.getPlanEpoch()
                    + ", this stage serves pipeline " + a.getPipelineId() + " epoch " + a.getPlanEpoch();
        }
        return null;
    }

    /** Ends the links (the layers and their KV cache belong to the worker). */
    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[]{next, results}) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the other link must still close
            }
        }
    }
}
