package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.SampledTokenResult;

import java.util.List;

/**
 * What the last stage reported for one micro-batch: a token per sampled entry, each stage's timing, or the error
 * of the stage that could not run it.
 */
public record StepOutcome(int pipelineId, long epoch, long stepId, List<SampledTokenResult> tokens,
                          List<StageTime> timings, String error) {

    public StepOutcome {
        tokens = List.copyOf(tokens);
        timings = List.copyOf(timings);
        error = error == null ? "" : error;
    }

    public boolean failed() {
        return !error.isEmpty();
    }
}
