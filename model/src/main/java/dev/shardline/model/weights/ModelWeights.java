package dev.shardline.model.weights;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.tensor.WeightTensor;

import java.util.List;

/**
 * The weights one process runs: a {@link LayerRange} of decoder layers, the embedding when the range is the first
 * stage, and the final norm and lm_head when it is the last. With tied embeddings {@code lmHead} is the embedding
 * tensor itself. The owner of the mapping closes it through {@link #close()}.
 */
public record ModelWeights(
        ModelConfig config,
        LayerRange range,
        WeightTensor embedding,     // [vocab, hidden] or null
        List<LayerWeights> layers,  // range.count() layers, in order
        WeightTensor finalNorm,     // [hidden] or null
        WeightTensor lmHead,        // [vocab, hidden] or null
        AutoCloseable mapping) implements AutoCloseable {

    public ModelWeights {
        layers = List.copyOf(layers);
    }

    public LayerWeights layer(int globalIndex) {
        return layers.get(globalIndex - range.start());
    }

    /** Bytes read per decoded token: all layers, plus the final norm and lm_head on the last stage (one embedding row is negligible). */
    public long bytesPerDecodedToken() {
        long total = 0;
        for (LayerWeights l : layers) {
            total += l.byteSize();
        }
        if (finalNorm != null) total += finalNorm.byteSize();
        if (lmHead != null) total += lmHead.byteSize();
        return total;
    }

    @Override
    public void close() {
        try {
            if (mapping != null) mapping.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the weight mapping failed: " + e.getMessage(), e);
        }
    }
}
