package dev.shardline.coordinator.plan;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.weights.LayerRange;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Assigns contiguous layer ranges to workers: pure code, no I/O. Each pipeline minimises its slowest stage's time
 * (bytes read per step / speed, counting norm + lm_head on the last stage) subject to every stage fitting its
 * worker's budget (weights + the minimum KV reserve for its layers), then maximises the KV tokens it can hold.
 * Which workers take the edge stages (embedding, head) is chosen by the solver; middle workers keep the given order.
 * With replicas on auto, the workers are split into as many groups as can each hold the whole model (greedy
 * groupings, then a local search of moves and swaps that lowers the slowest pipeline's bottleneck).
 */
public final class ShardPlanner {

    private ShardPlanner() {
    }

    /**
     * Plans pipelines for {@code config} with weights of {@code weightBytesPerElement} bytes (2 for bf16).
     *
     * @throws PlanException when the workers cannot hold the model (or the requested replicas), naming the shortfall
     */
    public static ShardPlan plan(ModelConfig config, int weightBytesPerElement, List<WorkerOffer> workers,
                                 PlanOptions options) {
        if (workers.isEmpty()) {
            throw new PlanException("no workers to plan over: the model needs "
                    + gb(CostModel.of(config, weightBytesPerElement, options).memoryNeed(config.numHiddenLayers(), true, true)),
                    CostModel.of(config, weightBytesPerElement, options).memoryNeed(config.numHiddenLayers(), true, true));
        }
        Set<String> ids = new HashSet<>();
        for (WorkerOffer w : workers) {
            if (!ids.add(w.workerId())) {
                throw new IllegalArgumentException("worker id " + w.workerId() + " is offered twice");
            }
        }
        CostModel cm = CostModel.of(config, weightBytesPerElement, options);
        GroupSolver solver = new GroupSolver(cm, options.maxStagesPerPipeline(), options.timeSlack());
        Grouping grouping = new Grouping(cm, solver);
        List<List<WorkerOffer>> groups = null;
        if (options.replicas() > 1) {
            groups = grouping.form(workers, options.replicas());
            if (groups == null) {
                throw Shortfall.forReplicas(cm, solver, grouping, workers, options.replicas());
            }
        } else if (options.replicas() == 0) {
            long single = cm.memoryNeed(cm.layers(), true, true);
            long offered = workers.stream().mapToLong(WorkerOffer::memoryBudgetBytes).sum();
            int upper = (int) Math.min(workers.size(), offered / Math.max(1, single));
            for (int p = upper; p >= 2 && groups == null; p--) {
                groups = grouping.form(workers, p);
            }
        }
        if (groups == null) {
            groups = List.of(workers);
        }
        List<PipelinePlan> pipelines = new ArrayList<>();
        Set<String> used = new HashSet<>();
        for (List<WorkerOffer> g : groups) {
            GroupSolver.Solution s = solver.solve(g);
            if (s == null) {
                throw Shortfall.forPipeline(cm, solver, g);
            }
            pipelines.add(toPipeline(cm, pipelines.size(), s));
            s.workers().forEach(w -> used.add(w.workerId()));
        }
        List<String> unused = workers.stream().map(WorkerOffer::workerId).filter(id -> !used.contains(id)).toList();
        return new ShardPlan(pipelines, unused);
    }

    private static PipelinePlan toPipeline(CostModel cm, int index, GroupSolver.Solution s) {
        List<StagePlan> stages = new ArrayList<>();
        int start = 0;
        int n = s.workers().size();
        for (int i = 0; i < n; i++) {
            WorkerOffer w = s.workers().get(i);
            int count = s.counts()[i];
            boolean first = i == 0;
            boolean last = i == n - 1;
            LayerRange range = new LayerRange(start, start + count, first, last);
            stages.add(new StagePlan(w.workerId(), range, cm.weightBytes(count, first, last),
                    cm.kvCapacityTokens(w.memoryBudgetBytes(), count, first, last),
                    cm.costUnits(count, last, w.relativeSpeed())));
            start += count;
        }
        return new PipelinePlan(index, stages);
    }

    /**
     * The pipeline these workers form when each keeps exactly the given layers (in stage order: ranges contiguous
     * from layer 0, embedding on the first, head on the last), or null when a stage does not fit its worker's budget
     * with the minimum KV reserve. Used to re-form a pipeline whose workers still hold their layers (no reload).
     */
    public static PipelinePlan evaluate(ModelConfig config, int weightBytesPerElement, List<WorkerOffer> workers,
                                        List<LayerRange> ranges, PlanOptions options) {
        if (workers.size() != ranges.size() || workers.isEmpty()) {
            throw new IllegalArgumentException(workers.size() + " workers for " + ranges.size() + " ranges");
        }
        CostModel cm = CostModel.of(config, weightBytesPerElement, options);
        List<StagePlan> stages = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < workers.size(); i++) {
            LayerRange r = ranges.get(i);
            boolean first = i == 0;
            boolean last = i == workers.size() - 1;
            if (r.start() != next || r.count() == 0 || r.embedding() != first || r.head() != last) {
                return null;
            }
            next = r.end();
            WorkerOffer w = workers.get(i);
            if (w.memoryBudgetBytes() < cm.memoryNeed(r.count(), first, last)) {
                return null;
            }
            stages.add(new StagePlan(w.workerId(), r, cm.weightBytes(r.count(), first, last),
                    cm.kvCapacityTokens(w.memoryBudgetBytes(), r.count(), first, last),
                    cm.costUnits(r.count(), last, w.relativeSpeed())));
        }
        return next == config.numHiddenLayers() ? new PipelinePlan(0, stages) : null;
    }

    static String gb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.2f GB (%d bytes)", bytes / 1e9, bytes);
    }
}
