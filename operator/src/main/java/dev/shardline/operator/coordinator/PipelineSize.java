package dev.shardline.operator.coordinator;

import java.util.List;

/**
 * The coordinator's answer to "how many workers of this budget does one pipeline need" (Admin.PlanPipeline).
 *
 * @param modelBytes bytes one worker would need for the whole model (weights plus the minimum KV reserve)
 */
public record PipelineSize(String modelId, int stages, long modelBytes, List<Stage> plan) {

    public PipelineSize {
        plan = List.copyOf(plan);
    }

    /** One planned stage: layers [layerStart, layerEnd) and the weight bytes it holds. */
    public record Stage(int index, int layerStart, int layerEnd, long weightBytes) {
    }
}
