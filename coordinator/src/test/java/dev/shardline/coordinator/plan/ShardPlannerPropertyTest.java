package dev.shardline.coordinator.plan;

import dev.shardline.model.config.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Seeded random configs, budgets and speeds: every plan is valid, or the exception names the missing bytes. */
class ShardPlannerPropertyTest {

    @Test
    void randomPlansAreValidOrNameTheShortfall() {
        SplittableRandom r = new SplittableRandom(20240601);
        int plans = 0;
        int failures = 0;
        int replicated = 0;
        for (int n = 0; n < 500; n++) {
            ModelConfig c = Shapes.random(r);
            int bpe = r.nextInt(4) == 0 ? 4 : 2;
            long reserve = new long[]{1, 16, 512, 4096}[r.nextInt(4)];
            PlanOptions o = PlanOptions.defaults().withMinKvReserveTokens(reserve)
                    .withMaxStagesPerPipeline(r.nextInt(3) == 0 ? 1 + r.nextInt(8) : 0)
                    .withReplicas(r.nextInt(4) == 0 ? 1 : 0);
            List<WorkerOffer> workers = randomWorkers(r, c, bpe, reserve);
            String tag = "case " + n + ": " + c.numHiddenLayers() + " layers, hidden " + c.hiddenSize() + ", tied "
                    + c.tieWordEmbeddings() + ", bpe " + bpe + ", " + o + ", workers " + workers;
            try {
                ShardPlan plan = ShardPlanner.plan(c, bpe, workers, o);
                check(c, bpe, reserve, o, workers, plan, tag);
                plans++;
                if (plan.pipelines().size() > 1) replicated++;
            } catch (PlanException e) {
                failures++;
                assertTrue(e.shortfallBytes() > 0, tag + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("short by " + e.shortfallBytes() + " bytes"), tag + ": " + e.getMessage());
                long largest = workers.stream().mapToLong(WorkerOffer::memoryBudgetBytes).max().orElseThrow();
                long single = Shapes.stageBytes(c, bpe, c.numHiddenLayers(), true, true)
                        + c.numHiddenLayers() * reserve * Shapes.kvPerTokenPerLayer(c);
                assertTrue(largest < single, tag + ": one worker holds the whole model, yet: " + e.getMessage());
            }
        }
        assertTrue(plans > 150 && failures > 50 && replicated > 20, plans + " plans, " + failures + " failures, "
                + replicated + " with replicas: the generator should cover all three");
    }

    /** Small cases against exhaustive search: same feasibility, same bottleneck, same best KV capacity. */
    @Test
    void singlePipelinesMatchExhaustiveSearch() {
        matchExhaustiveSearch(0.0, 7);
    }

    /**
     * With a time slack: the bottleneck stays within the slack above the exhaustive optimum, and the KV capacity is
     * at least the exact plan's (the slack only ever buys headroom). The solver is not exhaustive over the relaxed
     * time, so the best KV within the slack is an upper bound, not a target.
     */
    @Test
    void withATimeSlackSinglePipelinesHoldTheMostKvWithinIt() {
        matchExhaustiveSearch(PlanOptions.DEFAULT_TIME_SLACK, 8);
        matchExhaustiveSearch(0.1, 9);
    }

    private static void matchExhaustiveSearch(double slack, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int slackUsed = 0;
        for (int n = 0; n < 300; n++) {
            ModelConfig c = r.nextBoolean() ? Shapes.tiny(1 + r.nextInt(7), r.nextBoolean()) : Shapes.qwq(1 + r.nextInt(7));
            long reserve = 1 + r.nextInt(4096);
            List<WorkerOffer> ws = randomWorkers(r, c, 2, reserve).stream().limit(4).toList();
            PlanOptions o = PlanOptions.defaults().withMinKvReserveTokens(reserve).withReplicas(1).withTimeSlack(slack);
            List<Best> all = new ArrayList<>();
            search(c, reserve, ws, new ArrayList<>(), new ArrayList<>(), 0, all);
            String tag = "slack " + slack + ", case " + n + ": " + c.numHiddenLayers() + " layers " + ws;
            ShardPlan plan;
            try {
                plan = ShardPlanner.plan(c, 2, ws, o);
            } catch (PlanException e) {
                assertTrue(all.isEmpty(), tag + ": exhaustive search found a plan, planner said " + e.getMessage());
                continue;
            }
            if (all.isEmpty()) fail(tag + ": no plan exists, yet the planner made " + plan.describe());
            check(c, 2, reserve, o, ws, plan, tag);
            double optimum = all.stream().mapToDouble(Best::bottleneck).min().orElseThrow();
            double limit = optimum * (1 + slack) * (1 + 1e-12);
            long bestKv = all.stream().filter(b -> b.bottleneck() <= limit).mapToLong(Best::kv).max().orElseThrow();
            PipelinePlan p = plan.pipelines().getFirst();
            if (slack == 0) {
                assertEquals(optimum, p.bottleneckCost(), 1e-9 * optimum, tag + "\n" + plan.describe());
                assertEquals(bestKv, p.kvCapacityTokens(), tag + "\n" + plan.describe());
            } else {
                PipelinePlan exact = ShardPlanner.plan(c, 2, ws, o.withTimeSlack(0)).pipelines().getFirst();
                assertTrue(p.bottleneckCost() <= optimum * (1 + slack) * (1 + 1e-9), tag + "\n" + plan.describe());
                assertTrue(p.kvCapacityTokens() >= exact.kvCapacityTokens(), tag + ": less KV than without slack\n"
                        + plan.describe() + "\n" + exact);
                assertTrue(p.kvCapacityTokens() <= bestKv, tag);
                if (p.kvCapacityTokens() > exact.kvCapacityTokens()) slackUsed++;
            }
        }
        assertTrue(slack == 0 || slackUsed > 0, "slack " + slack + ": some case should trade time for KV");
    }

    /** One plan's bottleneck time and KV capacity (the smallest over its stages). */
    record Best(double bottleneck, long kv) {
    }

    /** Every ordered choice of distinct workers and every composition of the layers: each feasible plan into all. */
    private static void search(ModelConfig c, long reserve, List<WorkerOffer> ws, List<WorkerOffer> order,
                               List<Integer> counts, int done, List<Best> all) {
        int layers = c.numHiddenLayers();
        if (done == layers) {
            double b = 0;
            long kv = Long.MAX_VALUE;
            for (int i = 0; i < order.size(); i++) {
                boolean first = i == 0;
                boolean last = i == order.size() - 1;
                int count = counts.get(i);
                long weights = Shapes.stageBytes(c, 2, count, first, last);
                long budget = order.get(i).memoryBudgetBytes();
                long perToken = count * Shapes.kvPerTokenPerLayer(c);
                if (weights + reserve * perToken > budget) return;
                kv = Math.min(kv, (budget - weights) / perToken);
                b = Math.max(b, Shapes.stageTime(c, 2, count, last, order.get(i).relativeSpeed()));
            }
            all.add(new Best(b, kv));
            return;
        }
        for (WorkerOffer w : ws) {
            if (order.contains(w)) continue;
            for (int count = 1; done + count <= layers; count++) {
                order.add(w);
                counts.add(count);
                search(c, reserve, ws, order, counts, done + count, all);
                order.removeLast();
                counts.removeLast();
            }
        }
    }

    static List<WorkerOffer> randomWorkers(SplittableRandom r, ModelConfig c, int bpe, long reserve) {
        long need = Shapes.stageBytes(c, bpe, c.numHiddenLayers(), true, true)
                + c.numHiddenLayers() * reserve * Shapes.kvPerTokenPerLayer(c);
        int k = 1 + r.nextInt(r.nextBoolean() ? 4 : 16);
        double total = need * (0.6 + r.nextDouble() * (r.nextInt(4) == 0 ? 6.0 : 2.0));
        double[] share = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) sum += share[i] = 0.2 + r.nextDouble();
        List<WorkerOffer> ws = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            double speed = r.nextInt(3) == 0 ? 0.5 + r.nextDouble() * 2 : 1.0;
            ws.add(new WorkerOffer("w" + i, (long) (total * share[i] / sum), speed));
        }
        return ws;
    }

    static void check(ModelConfig c, int bpe, long reserve, PlanOptions o, List<WorkerOffer> workers, ShardPlan plan, String tag) {
        Map<String, WorkerOffer> byId = workers.stream().collect(Collectors.toMap(WorkerOffer::workerId, w -> w));
        Set<String> seen = new HashSet<>();
        assertTrue(!plan.pipelines().isEmpty(), tag);
        if (o.replicas() > 0) assertEquals(o.replicas(), plan.pipelines().size(), tag);
        for (PipelinePlan p : plan.pipelines()) {
            List<StagePlan> stages = p.stages();
            if (o.maxStagesPerPipeline() > 0) assertTrue(stages.size() <= o.maxStagesPerPipeline(), tag);
            int next = 0;
            long minKv = Long.MAX_VALUE;
            for (int i = 0; i < stages.size(); i++) {
                StagePlan s = stages.get(i);
                boolean first = i == 0;
                boolean last = i == stages.size() - 1;
                assertEquals(next, s.range().start(), tag + ": layers contiguous and in order\n" + plan.describe());
                assertTrue(s.range().count() >= 1, tag + ": empty stage\n" + plan.describe());
                assertEquals(first, s.range().embedding(), tag + ": embedding on the first stage only");
                assertEquals(last, s.range().head(), tag + ": head on the last stage only");
                next = s.range().end();
                assertTrue(seen.add(s.workerId()), tag + ": worker used twice: " + s.workerId());
                WorkerOffer w = byId.get(s.workerId());
                long weights = Shapes.stageBytes(c, bpe, s.range().count(), first, last);
                assertEquals(weights, s.weightBytes(), tag);
                long perToken = s.range().count() * Shapes.kvPerTokenPerLayer(c);
                assertTrue(weights + reserve * perToken <= w.memoryBudgetBytes(), tag + ": over budget\n" + plan.describe());
                assertEquals((w.memoryBudgetBytes() - weights) / perToken, s.kvCapacityTokens(), tag);
                assertEquals(Shapes.stageTime(c, bpe, s.range().count(), last, w.relativeSpeed()), s.costUnits(), 1e-9, tag);
                minKv = Math.min(minKv, s.kvCapacityTokens());
            }
            assertEquals(c.numHiddenLayers(), next, tag + ": every layer assigned\n" + plan.describe());
            assertEquals(minKv, p.kvCapacityTokens());
        }
        List<String> unused = workers.stream().map(WorkerOffer::workerId).filter(id -> !seen.contains(id)).toList();
        assertEquals(unused, plan.unusedWorkers(), tag);
        if (o.replicas() == 0) {
            long single = Shapes.stageBytes(c, bpe, c.numHiddenLayers(), true, true)
                    + c.numHiddenLayers() * reserve * Shapes.kvPerTokenPerLayer(c);
            long holders = workers.stream().filter(w -> w.memoryBudgetBytes() >= single).count();
            assertTrue(plan.pipelines().size() >= holders, tag + ": " + holders + " workers hold the model alone\n" + plan.describe());
        }
    }
}
