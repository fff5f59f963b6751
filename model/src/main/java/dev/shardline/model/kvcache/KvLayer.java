package dev.shardline.model.kvcache;

/**
 * The paged key/value storage of one decoder layer: {@code numBlocks} blocks of {@code blockSize} token slots,
 * each slot holding {@code kvDim} floats of keys (post-RoPE) and as many of values.
 * Position {@code p} of a sequence with block table {@code bt} lives in block {@code bt[p / blockSize]},
 * slot {@code p % blockSize}, at float offset {@link #offset(int, int)}.
 */
public final class KvLayer {
    private final int numBlocks;
    private final int blockSize;
    private final int kvDim;
    private final float[] keys;    // [numBlocks, blockSize, kvDim]
    private final float[] values;  // [numBlocks, blockSize, kvDim]

    public KvLayer(int numBlocks, int blockSize, int kvDim) {
        long floats = (long) numBlocks * blockSize * kvDim;
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV layer of " + numBlocks + " blocks x " + blockSize + " x " + kvDim
                    + " floats exceeds one Java array; use fewer blocks per process");
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        this.keys = new float[(int) floats];
        this.values = new float[(int) floats];
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

    public float[] keys() {
        return keys;
    }

    public float[] values() {
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
}
