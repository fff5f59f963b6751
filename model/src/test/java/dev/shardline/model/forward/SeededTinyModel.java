package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;

/**
 * The seeded tiny model the forward tests share (hidden 64, 4 layers, 4/2 heads, vocabulary 512; seed 42), built once
 * per test JVM and freed with it.
 */
final class SeededTinyModel {
    static final ModelConfig CONFIG = InMemoryWeights.config(64, 4, 4, 2, 128, 512, false);

    private static ModelWeights whole;

    private SeededTinyModel() {
    }

    /** All layers, embeddings and head. */
    static synchronized ModelWeights whole() {
        if (whole == null) whole = InMemoryWeights.create(CONFIG, LayerRange.whole(CONFIG.numHiddenLayers()), 42);
        return whole;
    }
}
