package dev.shardline.model.source;

import java.util.List;

/**
 * The real bytes of a model's weights as stored (a quantized layer is smaller, and Q4_K_M layers differ from one
 * another): what a stage maps and what decode reads per token. The planner's cost model takes these.
 *
 * @param layers    bytes of each decoder layer, by index
 * @param embedding bytes of the token embedding
 * @param finalNorm bytes of the final RMSNorm weight
 * @param lmHead    bytes of lm_head (the embedding's when tied)
 * @param tied      whether lm_head is the embedding tensor
 */
public record WeightSizes(List<Long> layers, long embedding, long finalNorm, long lmHead, boolean tied) {

    public WeightSizes {
        layers = List.copyOf(layers);
    }

    /** Bytes of layers [start, end). */
    public long layers(int start, int end) {
        long b = 0;
        for (int i = start; i < end; i++) {
            b += layers.get(i);
        }
        return b;
    }

    public long total() {
        return layers(0, layers.size()) + embedding + finalNorm + (tied ? 0 : lmHead);
    }
}
