package dev.shardline.coordinator.generation;

import dev.shardline.coordinator.cluster.SamplerSpec;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.model.sampling.SamplingParams;

/**
 * A request that passed validation, resolved against the model: its prompt token ids, the sampling parameters with
 * the model's defaults applied and a seed always set, what the scheduler and the last stage need, and whether
 * generation starts inside a reasoning block.
 */
public record ValidatedRequest(int[] promptIds, SamplingParams params, Request scheduling, SamplerSpec sampler,
                               boolean reasoningOpen) {

    public ValidatedRequest {
        promptIds = promptIds.clone();
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }
}
