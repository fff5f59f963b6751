package dev.shardline.model.kvcache;

import java.util.ArrayDeque;
import java.util.BitSet;

/**
 * Hands out KV cache block ids [0, numBlocks) and takes them back. A block is never given out twice before it
 * is freed, and freeing a block that is not allocated is an error, so leaks and double use are caught at once.
 */
public final class BlockAllocator {
    private final int numBlocks;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final BitSet used;

    public BlockAllocator(int numBlocks) {
        this.numBlocks = numBlocks;
        this.used = new BitSet(numBlocks);
        for (int i = 0; i < numBlocks; i++) {
            free.addLast(i);
        }
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int freeBlocks() {
        return free.size();
    }

    public int usedBlocks() {
        return numBlocks - free.size();
    }

    public boolean canAllocate(int blocks) {
        return blocks <= free.size();
    }

    /** One free block, or {@link KvCacheFullException} when none is left. */
    public int allocate() {
        Integer b = free.pollFirst();
        if (b == null) {
            throw new KvCacheFullException("all " + numBlocks + " KV cache blocks are in use");
        }
        used.set(b);
        return b;
    }

    public void free(int block) {
        if (block < 0 || block >= numBlocks || !used.get(block)) {
            throw new IllegalStateException("KV block " + block + " freed but not allocated");
        }
        used.clear(block);
        free.addLast(block);
    }

    public void free(int[] blocks, int count) {
        for (int i = 0; i < count; i++) {
            free(blocks[i]);
        }
    }
}
