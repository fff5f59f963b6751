package dev.shardline.model.tokenizer;

/** An open-addressing map from long keys to non-negative int values, for BPE merge ranks keyed by a pair of ids. */
final class LongIntMap {
    private final long[] keys;
    private final int[] values; // value + 1; 0 marks an empty slot
    private final int mask;
    private final int shift;

    LongIntMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        mask = capacity - 1;
        shift = 64 - Integer.numberOfTrailingZeros(capacity);
    }

    private int slot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> shift);
    }

    /** Stores value (>= 0) unless the key is already present; returns false when it was. */
    boolean putIfAbsent(long key, int value) {
        int i = slot(key);
        while (values[i] != 0) {
            if (keys[i] == key) return false;
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value + 1;
        return true;
    }

    /** The value for key, or -1. */
    int get(long key) {
        int i = slot(key);
        while (true) {
            int v = values[i];
            if (v == 0) return -1;
            if (keys[i] == key) return v - 1;
            i = (i + 1) & mask;
        }
    }

    static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }
}
