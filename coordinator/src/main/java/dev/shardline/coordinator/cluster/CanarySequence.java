package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.PriorityClass;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.sampling.SamplingParams;

import java.util.Set;

/**
 * One token through every stage of an idle pipeline: the proof of readiness when no request proves it. It prefills
 * a single token (id 0, valid in every vocabulary), samples greedily once and is forgotten. Its outcome needs no
 * owner: a completed step refreshes the pipeline's proof of life, a failure fails the pipeline by itself.
 */
final class CanarySequence implements ClusterSequence {
    private static final Request REQUEST = new Request(new int[] {0}, new int[0], 1, PriorityClass.INTERACTIVE,
            Integer.MAX_VALUE, Long.MAX_VALUE, Set.of(), Set.of(), true);
    private static final SamplerSpec GREEDY = new SamplerSpec(SamplingParams.greedy(), 0, 1, new int[0]);
    private final int pipelineId;

    CanarySequence(int pipelineId) {
        this.pipelineId = pipelineId;
    }

    @Override
    public long key() {
        return Long.MAX_VALUE;
    }

    @Override
    public Request request() {
        return REQUEST;
    }

    @Override
    public SamplerSpec sampler() {
        return GREEDY;
    }

    @Override
    public int[] generated() {
        return new int[0];
    }

    @Override
    public boolean cancelled() {
        return false;
    }

    @Override
    public void onScheduled(int pipelineId) {
    }

    @Override
    public boolean onToken(SampledTokenResult token, int rowsBefore) {
        return false;
    }

    @Override
    public void onFinished(FinishReason reason) {
    }

    @Override
    public void onFailed(Failure kind, String reason) {
    }

    @Override
    public void onMigrating(int pipelineId, MigrationCause cause) {
    }

    @Override
    public String toString() {
        return "canary of pipeline " + pipelineId;
    }
}
