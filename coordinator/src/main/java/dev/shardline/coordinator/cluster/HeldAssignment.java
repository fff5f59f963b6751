package dev.shardline.coordinator.cluster;

import dev.shardline.model.weights.LayerRange;

/** An assignment a worker holds: its pipeline and epoch, its layers and the KV cache it allocated for them. */
public record HeldAssignment(int pipelineId, long epoch, LayerRange range, int kvBlocks, int blockSize) {
}
