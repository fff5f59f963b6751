package dev.shardline.coordinator.plan;

import dev.shardline.model.config.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How many identical workers one pipeline of a model needs: the fewest that {@link ShardPlanner} can fit, with the
 * same cost model and options the cluster plans with. Pure: no I/O. For the Kubernetes operator's automatic stages.
 */
public record PipelineSizer(String modelId, ModelConfig config, int bytesPerWeight, PlanOptions options) {

    /** The answer: the pipeline (stage workers named stage-0 ..) and the bytes one worker needs for the whole model. */
    public record Sized(String modelId, PipelinePlan pipeline, long modelBytes) {
    }

    /**
     * @param budgetBytes each worker's memory budget, > 0
     * @param maxStages   most stages; 0 = the model's layer count
     * @throws PlanException when no number of such workers (up to the limit) can hold the model
     */
    public Sized size(long budgetBytes, int maxStages) {
        if (budgetBytes <= 0) throw new IllegalArgumentException("worker memory budget must be > 0, got " + budgetBytes);
        if (maxStages < 0) throw new IllegalArgumentException("max stages must be >= 0, got " + maxStages);
        CostModel cm = CostModel.of(config, bytesPerWeight, options);
        long whole = cm.memoryNeed(cm.layers(), true, true);
        int limit = maxStages == 0 ? cm.layers() : Math.min(maxStages, cm.layers());
        int from = (int) Math.max(1, Math.min(limit, whole / budgetBytes));   // fewer workers hold less than the whole
        for (int n = from; n <= limit; n++) {
            List<WorkerOffer> offers = new ArrayList<>();
            for (int i = 0; i < n; i++) offers.add(new WorkerOffer("stage-" + i, budgetBytes));
            try {
                ShardPlan plan = ShardPlanner.plan(config, bytesPerWeight, offers,
                        options.withReplicas(1).withMaxStagesPerPipeline(n));
                return new Sized(modelId, plan.pipelines().getFirst(), whole);
            } catch (PlanException e) {
                // n such workers are too few: try one more
            }
        }
        long edge = Math.max(cm.memoryNeed(1, true, limit == 1), cm.memoryNeed(1, false, true));
        throw new PlanException(String.format(Locale.ROOT,
                "no pipeline of up to %d workers with a memory budget of %s each can hold %s: the whole model needs %s"
                        + " (weights plus the KV reserve for %d tokens), and a worker must hold at least %s"
                        + " (one layer with the embedding or the head)",
                limit, gib(budgetBytes), modelId, gib(whole), cm.reserveTokens(), gib(edge)),
                Math.max(1, edge - budgetBytes));
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB (%d bytes)", bytes / (double) (1L << 30), bytes);
    }
}
