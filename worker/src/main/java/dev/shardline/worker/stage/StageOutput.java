package dev.shardline.worker.stage;

import java.util.List;

/** What a stage produces for a micro-batch: hidden states for the next stage, or, on the last, sampled tokens. */
public record StageOutput(float[] hidden, int rows, List<SampledResult> sampled) {
}
