package dev.shardline.model.checkpoint;

/**
 * Progress of {@link CheckpointLoader#load}: layers resolved so far, bytes of tensors mapped so far out of the bytes
 * this range needs, and the tensor just handled.
 */
public record LoadProgress(int layersDone, int layersTotal, long bytesMapped, long bytesTotal, String currentTensor) {
}
