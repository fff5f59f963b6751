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
 * @param kvBytesPerElement bytes of one cached key or value element on it (2 for a bf16 cache, 4 for f32)
 */
public record WorkerView(String id, long memoryBudgetBytes, double relativeSpeed, boolean alive, boolean leaving,
                         boolean assignable, LayerRange held, int kvBytesPerElement) {

    public WorkerView {
        if (kvBytesPerElement <= 0) {
            throw new IllegalArgumentException("worker " + id + ": kvBytesPerElement " + kvBytesPerElement + " <= 0");
        }
    }

    /** A worker with an f32 KV cache. */
    public WorkerView(String id, long memoryBudgetBytes, double relativeSpeed, boolean alive, boolean leaving,
                      boolean assignable, LayerRange held) {
        this(id, memoryBudgetBytes, relativeSpeed, alive, leaving, assignable, held, Float.BYTES);
    }
}
