package dev.shardline.coordinator.plan;

import dev.shardline.model.weights.LayerRange;

/**
 * One stage of a pipeline: the worker, its layers (with the embedding on the first stage and the final norm +
 * lm_head on the last), the weight bytes it maps, the KV tokens its remaining memory holds, and its time per step
 * in cost units: the bytes it reads per decode step in layer-equivalents, divided by the worker's speed (a middle
 * stage of 16 layers on a reference worker costs 16.0; QwQ's lm_head adds about 1.6).
 */
public record StagePlan(String workerId, LayerRange range, long weightBytes, long kvCapacityTokens, double costUnits) {
}
