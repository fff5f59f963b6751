package dev.shardline.coordinator.desired;

import dev.shardline.model.weights.LayerRange;

/**
 * One registered worker as the desired-cluster function sees it.
 *
 * @param alive      heartbeats arrive (a lost worker's pipeline fails)
 * @param leaving    it is to leave the cluster (its process asked to be drained, or an admin drained it): never
 *                   put into a new pipeline, and its pipeline drains
 * @param assignable it may be given layers now (false for a while after an assignment of it failed)
 * @param held       the layers it still holds loaded (from an earlier assignment), or null
 */
public record WorkerView(String id, long memoryBudgetBytes, double relativeSpeed, boolean alive, boolean leaving,
                         boolean assignable, LayerRange held) {
}
