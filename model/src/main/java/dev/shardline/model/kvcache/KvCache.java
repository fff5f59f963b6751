package dev.shardline.model.kvcache;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.weights.LayerRange;

/**
 * The KV cache of the layers one process runs: a {@link KvLayer} per layer of its {@link LayerRange}, all sharing
 * one block numbering, so a sequence's block table is valid in every layer. Block ids are handed out by a
 * {@link BlockAllocator} (in the cluster, by the coordinator).
 */
public final class KvCache {
    private final LayerRange range;
    private final int blockSize;
    private final int numBlocks;
    private final KvLayer[] layers;

    public KvCache(ModelConfig config, LayerRange range, int numBlocks, int blockSize) {
        this.range = range;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.layers = new KvLayer[range.count()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new KvLayer(numBlocks, blockSize, config.kvDim());
        }
    }

    /** Bytes of KV cache one token takes in one layer (keys and values, f32). */
    public static long bytesPerTokenPerLayer(ModelConfig config) {
        return 2L * config.kvDim() * Float.BYTES;
    }

    public KvLayer layer(int globalLayer) {
        return layers[globalLayer - range.start()];
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** Blocks needed to hold {@code positions} tokens. */
    public int blocksFor(int positions) {
        return (positions + blockSize - 1) / blockSize;
    }
}
