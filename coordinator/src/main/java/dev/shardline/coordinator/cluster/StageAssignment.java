package dev.shardline.coordinator.cluster;

import dev.shardline.model.weights.LayerRange;

import java.nio.file.Path;

/**
 * A worker's part of a pipeline, as the coordinator hands it out.
 *
 * @param nextStageAddress host:port of the next stage's worker, or null on the last stage (it reports to the
 *                         coordinator)
 */
public record StageAssignment(int pipelineId, long epoch, int stageIndex, int stageCount, LayerRange range, Path modelDir,
                              String modelFingerprint, int kvBlocks, int blockSize, ActivationFormat activations,
                              int maxMessageBytes, String nextStageAddress, String coordinatorAddress,
                              int sampleVocabLimit) {

    public boolean last() {
        return nextStageAddress == null;
    }
}
