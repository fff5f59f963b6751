package dev.shardline.model.kvcache;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.weights.LayerRange;

import java.util.function.LongFunction;

/**
 * The KV cache of the layers one process runs: a {@link KvLayer} per layer of its {@link LayerRange}, all sharing
 * one block numbering, so a sequence's block table is valid in every layer. Block ids are handed out by a
 * {@link BlockAllocator} (in the cluster, by the coordinator). The memory belongs to the backend that computes on it
 * (heap arrays for the CPU backends, device memory for CUDA); close the cache to free it.
 */
public final class KvCache implements AutoCloseable {
    private final LayerRange range;
    private final int blockSize;
    private final int numBlocks;
    private final KvLayer[] layers;

    private KvCache(LayerRange range, int numBlocks, int blockSize, KvLayer[] layers) {
        this.range = range;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.layers = layers;
    }

    /** A zeroed cache on the Java heap, for the host backends (reference, cpu). */
    public static KvCache onHeap(ModelConfig config, LayerRange range, int numBlocks, int blockSize) {
        return allocate(new ReferenceKernels(), config, range, numBlocks, blockSize);
    }

    /** A zeroed cache for {@code range}'s layers in {@code kernels}' memory. */
    public static KvCache allocate(Kernels kernels, ModelConfig config, LayerRange range, int numBlocks, int blockSize) {
        return allocate((LongFunction<Activations>) kernels::allocate, config, range, numBlocks, blockSize);
    }

    /** A zeroed cache whose layers' keys and values come from {@code allocator} (see {@link KvLayer#allocate}). */
    public static KvCache allocate(LongFunction<Activations> allocator, ModelConfig config, LayerRange range,
                                   int numBlocks, int blockSize) {
        KvLayer[] layers = new KvLayer[range.count()];
        try {
            for (int i = 0; i < layers.length; i++) {
                layers[i] = KvLayer.allocate(allocator, numBlocks, blockSize, config.kvDim());
            }
        } catch (RuntimeException e) {
            for (KvLayer layer : layers) if (layer != null) layer.close();
            throw e;
        }
        return new KvCache(range, numBlocks, blockSize, layers);
    }

    /** Bytes of KV cache one token takes in one layer (keys and values, f32; a bf16 device cache takes half). */
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

    /** Frees the layers' memory (device memory on a GPU backend). */
    @Override
    public void close() {
        for (KvLayer layer : layers) layer.close();
    }
}
