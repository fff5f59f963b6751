package dev.shardline.model.kvcache;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.Kernels;

import java.util.function.LongFunction;

/**
 * The paged key/value storage of one decoder layer: {@code numBlocks} blocks of {@code blockSize} token slots,
 * each slot holding {@code kvDim} floats of keys (post-RoPE) and as many of values, in memory of the backend that
 * computes on it ({@link Kernels#allocate}). Position {@code p} of a sequence with block table {@code bt} lives in
 * block {@code bt[p / blockSize]}, slot {@code p % blockSize}, at float offset {@link #offset(int[], int)}.
 */
public final class KvLayer implements AutoCloseable {
    private final int numBlocks;
    private final int blockSize;
    private final int kvDim;
    private final Activations keys;    // [numBlocks, blockSize, kvDim]
    private final Activations values;  // [numBlocks, blockSize, kvDim]

    public KvLayer(int numBlocks, int blockSize, int kvDim, Activations keys, Activations values) {
        long floats = (long) numBlocks * blockSize * kvDim;
        if (keys.length() < floats || values.length() < floats) {
            throw new IllegalArgumentException("KV layer of " + numBlocks + " blocks x " + blockSize + " x " + kvDim
                    + " needs " + floats + " floats for keys and values, got " + keys.length() + " and " + values.length());
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        this.keys = keys;
        this.values = values;
    }

    /** A zeroed layer in {@code kernels}' memory. */
    public static KvLayer allocate(Kernels kernels, int numBlocks, int blockSize, int kvDim) {
        return allocate((LongFunction<Activations>) kernels::allocate, numBlocks, blockSize, kvDim);
    }

    /**
     * A zeroed layer whose keys and values come from {@code allocator} (elements in, Activations of that length
     * out): a backend may store the cache in a narrower type than f32 (the CUDA backend's bf16 cache).
     */
    public static KvLayer allocate(LongFunction<Activations> allocator, int numBlocks, int blockSize, int kvDim) {
        long floats = (long) numBlocks * blockSize * kvDim;
        Activations k = allocator.apply(floats);
        try {
            return new KvLayer(numBlocks, blockSize, kvDim, k, allocator.apply(floats));
        } catch (RuntimeException e) {
            k.close();
            throw e;
        }
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public int kvDim() {
        return kvDim;
    }

    public Activations keys() {
        return keys;
    }

    public Activations values() {
        return values;
    }

    /** Float offset of the slot holding {@code position} for a sequence with this block table. */
    public int offset(int[] blockTable, int position) {
        int block = blockTable[position / blockSize];
        return (block * blockSize + position % blockSize) * kvDim;
    }

    /** Float offset of (block, slot). */
    public int offset(int block, int slot) {
        return (block * blockSize + slot) * kvDim;
    }

    @Override
    public void close() {
        keys.close();
        values.close();
    }
}
