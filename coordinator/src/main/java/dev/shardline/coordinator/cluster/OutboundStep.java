package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.MicroBatch;

import java.util.Map;

/**
 * One micro-batch on its way into stage 0: the scheduler's batch, the pipeline and epoch it runs under, the
 * activation format, and the sampler of every entry that carries one ({@code includeSamplingParams}).
 */
public record OutboundStep(int pipelineId, long epoch, MicroBatch batch, ActivationFormat activations,
                           Map<Long, SamplerSpec> sampling) {

    public OutboundStep {
        sampling = Map.copyOf(sampling);
    }
}
