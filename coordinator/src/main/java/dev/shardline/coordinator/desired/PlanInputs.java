package dev.shardline.coordinator.desired;

import dev.shardline.coordinator.plan.PlanOptions;
import dev.shardline.model.config.ModelConfig;

/** What the shard planner needs besides the workers: the model, its bytes per weight and the planner's options. */
public record PlanInputs(ModelConfig model, int bytesPerWeight, PlanOptions options) {
}
