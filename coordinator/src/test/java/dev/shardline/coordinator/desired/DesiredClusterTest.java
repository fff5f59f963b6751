package dev.shardline.coordinator.desired;

import dev.shardline.coordinator.plan.CostModel;
import dev.shardline.coordinator.plan.PlanOptions;
import dev.shardline.coordinator.plan.StagePlan;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.weights.LayerRange;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The desired-cluster function's rules, one at a time, on an 8-layer model. */
class DesiredClusterTest {
    static final ModelConfig MODEL = new ModelConfig("qwen2", 64, 128, 8, 4, 2, 512, 1e-6, 1e6, 4096, false, null,
            "silu", "bfloat16", 1, List.of(2));
    static final PlanOptions OPTIONS = PlanOptions.defaults().withMinKvReserveTokens(256);
    static final PlanInputs INPUTS = new PlanInputs(MODEL, 2, OPTIONS);
    static final CostModel COST = CostModel.of(MODEL, 2, OPTIONS);
    static final long FULL = COST.memoryNeed(8, true, true) * 2;
    static final long HALF = COST.memoryNeed(5, true, true) + COST.reserveBytesPerLayer();

    static WorkerView worker(String id, long budget) {
        return new WorkerView(id, budget, 1.0, true, false, true, null);
    }

    static PipelineView serving(int id, int load, String... workers) {
        return new PipelineView(id, PipelineState.SERVING, List.of(workers), load, load == 0, false, false, null);
    }

    @Test
    void aPipelineWithALostWorkerFailsAndItsPartnerIsNotReusedInTheSameRound() {
        WorkerView lost = new WorkerView("a", HALF, 1, false, false, true, null);
        List<Action> actions = DesiredCluster.decide(new ClusterView(List.of(lost, worker("b", HALF)),
                List.of(serving(0, 3, "a", "b")), 0, true), INPUTS);
        assertEquals(List.of(new Action.Fail(0, "worker a was lost")), actions);
    }

    @Test
    void aBrokenLinkFailsThePipeline() {
        PipelineView p = new PipelineView(0, PipelineState.SERVING, List.of("a"), 1, false, false, false, "stage 0 broke");
        assertEquals(List.of(new Action.Fail(0, "stage 0 broke")),
                DesiredCluster.decide(new ClusterView(List.of(worker("a", FULL)), List.of(p), 0, true), INPUTS));
    }

    @Test
    void aLeavingWorkerDrainsItsPipelineAndIsNeverPlannedAgain() {
        WorkerView leaving = new WorkerView("a", FULL, 1, true, true, true, null);
        List<Action> actions = DesiredCluster.decide(new ClusterView(List.of(leaving, worker("b", HALF)),
                List.of(serving(0, 2, "a")), 0, true), INPUTS);
        assertEquals(List.of(new Action.Drain(0, "worker a is leaving")), actions);
    }

    @Test
    void scalingDownDrainsTheLeastLoadedPipelines() {
        List<WorkerView> ws = List.of(worker("a", FULL), worker("b", FULL), worker("c", FULL));
        List<Action> actions = DesiredCluster.decide(new ClusterView(ws,
                List.of(serving(0, 5, "a"), serving(1, 1, "b"), serving(2, 3, "c")), 1, true), INPUTS);
        assertEquals(List.of(new Action.Drain(1, "the target is 1 pipeline"), new Action.Drain(2, "the target is 1 pipeline")),
                actions);
    }

    @Test
    void drainingPipelinesRetireWhenEmptyAndEvacuateAfterTheDeadline() {
        PipelineView empty = new PipelineView(0, PipelineState.DRAINING, List.of("a"), 0, true, false, false, null);
        PipelineView late = new PipelineView(1, PipelineState.DRAINING, List.of("b"), 2, false, true, false, null);
        PipelineView waiting = new PipelineView(2, PipelineState.DRAINING, List.of("c"), 2, false, false, false, null);
        List<Action> actions = DesiredCluster.decide(new ClusterView(List.of(worker("a", FULL), worker("b", FULL),
                worker("c", FULL)), List.of(empty, late, waiting), 0, false), INPUTS);
        assertEquals(List.of(new Action.Retire(0), new Action.Evacuate(1)), actions);
    }

    @Test
    void thePoolFormsAPipelineOnlyWhenItCanHoldTheModel() {
        assertEquals(List.of(), DesiredCluster.decide(new ClusterView(List.of(worker("a", HALF)), List.of(), 0, true), INPUTS));
        List<Action> two = DesiredCluster.decide(new ClusterView(List.of(worker("a", HALF), worker("b", HALF)),
                List.of(), 0, true), INPUTS);
        assertEquals(1, two.size());
        Action.Form f = assertInstanceOf(Action.Form.class, two.getFirst());
        assertEquals(List.of("a", "b"), f.plan().stages().stream().map(StagePlan::workerId).sorted().toList());
        assertEquals(List.of(), DesiredCluster.decide(new ClusterView(List.of(worker("a", HALF), worker("b", HALF)),
                List.of(), 0, false), INPUTS), "not before the start gate opens");
    }

    @Test
    void aTargetOfOnePutsEveryPoolWorkerInOnePipelineAndNoTargetFormsAsManyAsFit() {
        List<WorkerView> four = List.of(worker("a", FULL), worker("b", FULL), worker("c", FULL), worker("d", FULL));
        List<Action> one = DesiredCluster.decide(new ClusterView(four, List.of(), 1, true), INPUTS);
        assertEquals(1, one.size());
        assertEquals(4, assertInstanceOf(Action.Form.class, one.getFirst()).plan().stageCount());
        assertEquals(4, DesiredCluster.decide(new ClusterView(four, List.of(), 0, true), INPUTS).size());
        assertEquals(List.of(), DesiredCluster.decide(new ClusterView(four, List.of(serving(0, 0, "a"),
                serving(1, 0, "b")), 2, true), INPUTS), "the target is met");
    }

    @Test
    void workersThatStillHoldACoverOfTheModelReformWithTheirLayers() {
        WorkerView first = new WorkerView("x", HALF, 1, true, false, true, new LayerRange(0, 5, true, false));
        WorkerView second = new WorkerView("y", HALF, 1, true, false, true, new LayerRange(5, 8, false, true));
        List<Action> actions = DesiredCluster.decide(new ClusterView(List.of(second, first), List.of(), 0, true), INPUTS);
        Action.Form f = assertInstanceOf(Action.Form.class, actions.getFirst());
        assertTrue(f.reuse());
        assertEquals(List.of("x", "y"), f.plan().stages().stream().map(StagePlan::workerId).toList());
        assertEquals(new LayerRange(5, 8, false, true), f.plan().stages().get(1).range());
    }

    @Test
    void kvIsSizedForTheCacheTheWorkersReallyAllocate() {
        long f32 = dev.shardline.model.kvcache.KvCache.bytesPerTokenPerLayer(MODEL);
        long left = FULL - COST.weightBytes(8, true, true);
        WorkerView f32Worker = worker("a", FULL);
        WorkerView bf16Worker = new WorkerView("a", FULL, 1.0, true, false, true, null, 2);
        assertEquals(left / (8 * f32), formedCapacity(f32Worker));
        assertEquals(left / (8 * (f32 / 2)), formedCapacity(bf16Worker), "a bf16 cache holds twice the tokens");
        assertTrue(COST.weightBytes(8, true, true) + formedCapacity(bf16Worker) * 8 * (f32 / 2) <= FULL);

        assertEquals(f32 / 2, INPUTS.forWorkers(List.of(bf16Worker)).options().kvBytesPerTokenPerLayer());
        assertEquals(INPUTS, INPUTS.forWorkers(List.of(bf16Worker, worker("b", FULL))),
                "a pool mixing bf16 and f32 caches is sized at f32, so no stage is assigned more than it holds");
        PlanInputs explicit = new PlanInputs(MODEL, 2, OPTIONS.withKvBytesPerTokenPerLayer(1000));
        assertEquals(500, explicit.forWorkers(List.of(bf16Worker)).options().kvBytesPerTokenPerLayer());
    }

    private static long formedCapacity(WorkerView w) {
        List<Action> actions = DesiredCluster.decide(new ClusterView(List.of(w), List.of(), 1, true), INPUTS);
        Action.Form f = assertInstanceOf(Action.Form.class, actions.getFirst());
        return f.plan().stages().getFirst().kvCapacityTokens();
    }
}
