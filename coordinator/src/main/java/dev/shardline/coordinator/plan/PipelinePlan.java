package dev.shardline.coordinator.plan;

import java.util.List;

/**
 * One pipeline (replica): stages in order, stage 0 embedding the tokens, the last one sampling. All its stages
 * share one KV block numbering, so the pipeline holds as many KV tokens as its smallest stage.
 */
public record PipelinePlan(int index, List<StagePlan> stages) {

    public PipelinePlan {
        stages = List.copyOf(stages);
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("pipeline " + index + " has no stages");
        }
    }

    /** KV tokens every stage can hold: the minimum over the stages. */
    public long kvCapacityTokens() {
        return stages.stream().mapToLong(StagePlan::kvCapacityTokens).min().orElseThrow();
    }

    /** The slowest stage's cost units: the pipeline's time per step once every stage is busy. */
    public double bottleneckCost() {
        return stages.stream().mapToDouble(StagePlan::costUnits).max().orElseThrow();
    }

    public int stageCount() {
        return stages.size();
    }
}
