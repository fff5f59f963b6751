package dev.shardline.model.weights;

import dev.shardline.model.tensor.WeightTensor;

/**
 * The twelve tensors of one Qwen2 decoder layer ({@code model.layers.N.*}). Shapes for QwQ-32B in comments.
 */
public record LayerWeights(
        int index,
        WeightTensor inputNorm,     // [5120]
        WeightTensor qWeight,       // [5120, 5120]
        WeightTensor qBias,         // [5120]
        WeightTensor kWeight,       // [1024, 5120]
        WeightTensor kBias,         // [1024]
        WeightTensor vWeight,       // [1024, 5120]
        WeightTensor vBias,         // [1024]
        WeightTensor oWeight,       // [5120, 5120]
        WeightTensor postNorm,      // [5120]
        WeightTensor gateWeight,    // [27648, 5120]
        WeightTensor upWeight,      // [27648, 5120]
        WeightTensor downWeight) {  // [5120, 27648]

    /** Bytes of all the layer's tensors: what one decode step reads from memory for this layer. */
    public long byteSize() {
        return inputNorm.byteSize() + qWeight.byteSize() + qBias.byteSize() + kWeight.byteSize() + kBias.byteSize()
                + vWeight.byteSize() + vBias.byteSize() + oWeight.byteSize() + postNorm.byteSize()
                + gateWeight.byteSize() + upWeight.byteSize() + downWeight.byteSize();
    }
}
