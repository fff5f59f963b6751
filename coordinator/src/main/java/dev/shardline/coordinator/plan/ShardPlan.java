package dev.shardline.coordinator.plan;

import java.util.List;
import java.util.Locale;

/** The planner's answer: the pipelines (replicas) and the workers it left out. */
public record ShardPlan(List<PipelinePlan> pipelines, List<String> unusedWorkers) {

    public ShardPlan {
        pipelines = List.copyOf(pipelines);
        unusedWorkers = List.copyOf(unusedWorkers);
    }

    /**
     * A table for logs and status APIs, one line per stage: stage, worker, layers, +embed/+head, weight GB, KV
     * tokens, and time relative to the pipeline's slowest stage (1.00 = the bottleneck).
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "shard plan: %d pipeline%s%n", pipelines.size(), pipelines.size() == 1 ? "" : "s"));
        for (PipelinePlan p : pipelines) {
            int workerWidth = "worker".length();
            for (StagePlan s : p.stages()) {
                workerWidth = Math.max(workerWidth, s.workerId().length());
            }
            sb.append(String.format(Locale.ROOT, "pipeline %d: %d stage%s, KV capacity %d tokens, bottleneck %.2f cost units%n",
                    p.index(), p.stageCount(), p.stageCount() == 1 ? "" : "s", p.kvCapacityTokens(), p.bottleneckCost()));
            String row = "  %-5s  %-" + workerWidth + "s  %-9s  %-11s  %8s  %10s  %8s%n";
            sb.append(String.format(Locale.ROOT, row, "stage", "worker", "layers", "extra", "GB", "KV tokens", "rel time"));
            double bottleneck = p.bottleneckCost();
            for (int i = 0; i < p.stages().size(); i++) {
                StagePlan s = p.stages().get(i);
                String extra = (s.range().embedding() ? "+embed" : "") + (s.range().head() ? "+head" : "");
                sb.append(String.format(Locale.ROOT, row, Integer.toString(i), s.workerId(),
                        s.range().start() + "-" + (s.range().end() - 1),
                        extra.isEmpty() ? "-" : extra,
                        String.format(Locale.ROOT, "%.2f", s.weightBytes() / 1e9),
                        Long.toString(s.kvCapacityTokens()),
                        String.format(Locale.ROOT, "%.2f", s.costUnits() / bottleneck)));
            }
        }
        if (!unusedWorkers.isEmpty()) {
            sb.append("unused workers: ").append(String.join(", ", unusedWorkers)).append('\n');
        }
        return sb.toString();
    }
}
