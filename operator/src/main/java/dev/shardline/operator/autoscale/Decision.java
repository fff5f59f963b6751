package dev.shardline.operator.autoscale;

/**
 * What the policy decided: the pipelines wanted, why, and the state to pass to the next call.
 *
 * @param pipelines   pipelines wanted now
 * @param recommended what the signals alone ask for (before windows and cool-down), unclamped
 * @param reason      a sentence naming the signal that decided
 * @param limited     the signals ask for more than maxPipelines
 * @param changed     pipelines differs from the current count
 * @param state       the policy's memory for the next call
 */
public record Decision(int pipelines, int recommended, String reason, boolean limited, boolean changed,
                       ScalingState state) {
}
