package dev.shardline.coordinator.cluster;

/** Time one stage spent on one micro-batch: queued in its inbox, computing, waiting for downstream credit. */
public record StageTime(int stageIndex, double queueMs, double computeMs, double sendWaitMs) {
}
