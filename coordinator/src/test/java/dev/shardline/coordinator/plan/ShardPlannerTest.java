package dev.shardline.coordinator.plan;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.weights.LayerRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardPlannerTest {
    static final long GB = 1_000_000_000L;

    @Test
    void qwqOnTwoEqualWorkersGivesTheLastStageFewerLayers() {
        ModelConfig qwq = Shapes.qwq(64);
        ShardPlan plan = ShardPlanner.plan(qwq, 2, List.of(new WorkerOffer("a", 48 * GB), new WorkerOffer("b", 48 * GB)),
                PlanOptions.defaults());
        assertEquals(1, plan.pipelines().size());
        List<StagePlan> s = plan.pipelines().getFirst().stages();
        assertEquals(2, s.size());
        assertEquals(new LayerRange(0, 33, true, false), s.get(0).range());
        assertEquals(new LayerRange(33, 64, false, true), s.get(1).range());
        // the even split would put 32 layers + lm_head (about 1.6 layers' worth) on the last stage
        double even = Shapes.stageTime(qwq, 2, 32, true, 1.0);
        assertTrue(plan.pipelines().getFirst().bottleneckCost() < even,
                plan.pipelines().getFirst().bottleneckCost() + " vs even " + even);
        assertEquals(Shapes.stageBytes(qwq, 2, 33, true, false), s.get(0).weightBytes());
        assertEquals(Shapes.stageBytes(qwq, 2, 31, false, true), s.get(1).weightBytes());
    }

    @Test
    void withinTheTimeSlackThePlannerTakesTheSplitWithMoreKvHeadroom() {
        ModelConfig small = dev.shardline.model.demo.DemoPreset.SMALL.config();
        List<WorkerOffer> two = List.of(new WorkerOffer("a", 12 * GB), new WorkerOffer("b", 12 * GB));
        PlanOptions one = PlanOptions.defaults().withReplicas(1);
        PipelinePlan exact = ShardPlanner.plan(small, 2, two, one.withTimeSlack(0)).pipelines().getFirst();
        PipelinePlan slack = ShardPlanner.plan(small, 2, two, one).pipelines().getFirst();
        assertEquals(List.of(17, 7), exact.stages().stream().map(st -> st.range().count()).toList(), "the decode optimum");
        assertEquals(List.of(16, 8), slack.stages().stream().map(st -> st.range().count()).toList(),
                "0.6% slower by the cost model, more KV room, fewer layers on the prefill bottleneck");
        assertTrue(slack.bottleneckCost() > exact.bottleneckCost());
        assertTrue(slack.bottleneckCost() <= exact.bottleneckCost() * (1 + PlanOptions.DEFAULT_TIME_SLACK));
        assertTrue(slack.kvCapacityTokens() > exact.kvCapacityTokens(), slack.kvCapacityTokens() + " vs " + exact.kvCapacityTokens());
        assertThrows(IllegalArgumentException.class, () -> PlanOptions.defaults().withTimeSlack(-0.1));
        assertThrows(IllegalArgumentException.class, () -> PlanOptions.defaults().withTimeSlack(Double.NaN));
    }

    @Test
    void unevenBudgetsAndSpeedsGiveUnevenSplits() {
        ModelConfig qwq = Shapes.qwq(64);
        ShardPlan byMemory = ShardPlanner.plan(qwq, 2, List.of(new WorkerOffer("small", 20 * GB),
                new WorkerOffer("big", 60 * GB)), PlanOptions.defaults());
        StagePlan small = stageOf(byMemory, "small");
        StagePlan big = stageOf(byMemory, "big");
        assertTrue(small.range().count() < 20 && big.range().count() > 44, byMemory.describe());
        assertTrue(small.weightBytes() + small.range().count() * 4096L * 8192 <= 20 * GB);

        ShardPlan bySpeed = ShardPlanner.plan(qwq, 2, List.of(new WorkerOffer("slow", 80 * GB, 1.0),
                new WorkerOffer("fast", 80 * GB, 3.0)), PlanOptions.defaults().withReplicas(1));
        int slow = stageOf(bySpeed, "slow").range().count();
        int fast = stageOf(bySpeed, "fast").range().count();
        assertTrue(fast >= 3 * slow - 4 && fast > 40, bySpeed.describe());
    }

    @Test
    void moreWorkersThanOnePipelineNeedsFormReplicas() {
        List<WorkerOffer> four = new ArrayList<>();
        for (int i = 0; i < 4; i++) four.add(new WorkerOffer("w" + i, 40 * GB));
        ShardPlan plan = ShardPlanner.plan(Shapes.qwq(64), 2, four, PlanOptions.defaults());
        assertEquals(2, plan.pipelines().size(), plan.describe());
        plan.pipelines().forEach(p -> assertEquals(2, p.stageCount()));
        assertEquals(List.of(), plan.unusedWorkers());

        List<WorkerOffer> five = new ArrayList<>(four);
        five.add(new WorkerOffer("w4", 40 * GB));
        ShardPlan withSpare = ShardPlanner.plan(Shapes.qwq(64), 2, five, PlanOptions.defaults());
        assertEquals(2, withSpare.pipelines().size());
        assertEquals(5, withSpare.pipelines().stream().mapToInt(PipelinePlan::stageCount).sum(),
                "the spare worker joins a pipeline as an extra stage");

        ShardPlan one = ShardPlanner.plan(Shapes.qwq(64), 2, four, PlanOptions.defaults().withReplicas(1));
        assertEquals(1, one.pipelines().size());
        assertEquals(4, one.pipelines().getFirst().stageCount());

        List<WorkerOffer> tinyWorkers = List.of(new WorkerOffer("x", GB), new WorkerOffer("y", GB), new WorkerOffer("z", GB));
        assertEquals(3, ShardPlanner.plan(Shapes.tiny(4, true), 2, tinyWorkers, PlanOptions.defaults()).pipelines().size());
    }

    @Test
    void maxStagesLeavesWorkersUnused() {
        List<WorkerOffer> four = new ArrayList<>();
        for (int i = 0; i < 4; i++) four.add(new WorkerOffer("w" + i, 40 * GB));
        ShardPlan plan = ShardPlanner.plan(Shapes.qwq(64), 2, four, PlanOptions.defaults().withReplicas(1).withMaxStagesPerPipeline(2));
        assertEquals(2, plan.pipelines().getFirst().stageCount());
        assertEquals(2, plan.unusedWorkers().size());
    }

    @Test
    void tooLittleMemoryNamesTheMissingBytes() {
        ModelConfig qwq = Shapes.qwq(64);
        PlanException e = assertThrows(PlanException.class, () -> ShardPlanner.plan(qwq, 2,
                List.of(new WorkerOffer("a", 24 * GB), new WorkerOffer("b", 24 * GB)), PlanOptions.defaults()));
        long need = Shapes.stageBytes(qwq, 2, 0, true, false) + Shapes.stageBytes(qwq, 2, 64, false, true)
                + 64 * 4096L * Shapes.kvPerTokenPerLayer(qwq);
        assertEquals(need - 48 * GB, e.shortfallBytes());
        assertTrue(e.getMessage().contains("short by " + (need - 48 * GB) + " bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("48.00 GB"), e.getMessage());

        // enough bytes in total, but the small workers cannot take an edge stage (lm_head alone is 1.56 GB)
        long small = 1_200_000_000L;
        PlanException edge = assertThrows(PlanException.class, () -> ShardPlanner.plan(qwq, 2,
                List.of(new WorkerOffer("a", 67 * GB), new WorkerOffer("b", small), new WorkerOffer("c", small)),
                PlanOptions.defaults()));
        // cheapest fix: a small worker grows to hold the first stage (embedding + 1 layer + reserve), a takes the rest
        long firstNeed = Shapes.stageBytes(qwq, 2, 1, true, false) + 4096L * Shapes.kvPerTokenPerLayer(qwq);
        assertEquals(firstNeed - small, edge.shortfallBytes());
        assertTrue(edge.getMessage().contains("edge stages") && edge.getMessage().contains("short by " + (firstNeed - small) + " bytes"),
                edge.getMessage());

        // enough bytes in total, but four 17 GB workers hold only 15 + 16 + 16 + 15 layers
        PlanException layers = assertThrows(PlanException.class, () -> ShardPlanner.plan(qwq, 2,
                List.of(new WorkerOffer("a", 17 * GB), new WorkerOffer("b", 17 * GB), new WorkerOffer("c", 17 * GB),
                        new WorkerOffer("d", 17 * GB)), PlanOptions.defaults()));
        assertTrue(layers.getMessage().contains("at most 62 of 64 layers")
                && layers.getMessage().contains("short by " + layers.shortfallBytes() + " bytes"), layers.getMessage());
        long perLayer = Shapes.layerBytes(qwq, 2) + 4096L * Shapes.kvPerTokenPerLayer(qwq);
        assertTrue(layers.shortfallBytes() > perLayer && layers.shortfallBytes() <= 2 * perLayer);

        PlanException replicas = assertThrows(PlanException.class, () -> ShardPlanner.plan(qwq, 2,
                List.of(new WorkerOffer("a", 80 * GB), new WorkerOffer("b", 40 * GB)), PlanOptions.defaults().withReplicas(2)));
        assertTrue(replicas.getMessage().startsWith("2 pipelines need"), replicas.getMessage());
    }

    @Test
    void describeShowsEveryStage() {
        ShardPlan plan = new ShardPlan(List.of(new PipelinePlan(0, List.of(
                new StagePlan("gpu-a", new LayerRange(0, 33, true, false), 33_730_000_000L, 5000, 33.0),
                new StagePlan("gpu-b", new LayerRange(33, 64, false, true), 31_790_000_000L, 7000, 32.6)))),
                List.of("gpu-c"));
        String expected = """
                shard plan: 1 pipeline
                pipeline 0: 2 stages, KV capacity 5000 tokens, bottleneck 33.00 cost units
                  stage  worker  layers     extra              GB   KV tokens  rel time
                  0      gpu-a   0-32       +embed          33.73        5000      1.00
                  1      gpu-b   33-63      +head           31.79        7000      0.99
                unused workers: gpu-c
                """;
        assertEquals(expected, plan.describe());
        assertEquals(5000, plan.pipelines().getFirst().kvCapacityTokens());
    }

    private static StagePlan stageOf(ShardPlan plan, String worker) {
        return plan.pipelines().stream().flatMap(p -> p.stages().stream())
                .filter(s -> s.workerId().equals(worker)).findFirst().orElseThrow(() -> new AssertionError(plan.describe()));
    }
}
