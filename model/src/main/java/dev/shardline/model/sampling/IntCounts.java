package dev.shardline.model.sampling;

import java.util.Arrays;

/**
 * Counts per int key (token id >= 0) in an open-addressing table, plus the distinct keys in first-seen order so
 * that iterating costs O(distinct keys), not O(vocabulary).
 */
final class IntCounts {
    private static final int EMPTY = -1;

    private int[] keys = filled(16);
    private int[] counts = new int[16];
    private int[] order = new int[8]; // distinct keys, first-seen order
    private int size;

    private static int[] filled(int n) {
        int[] a = new int[n];
        Arrays.fill(a, EMPTY);
        return a;
    }

    /** Adds one occurrence of key; returns the new count. */
    int increment(int key) {
        if (key < 0) {
            throw new IllegalArgumentException("token id must be >= 0, got " + key);
        }
        int slot = slot(key);
        if (keys[slot] == EMPTY) {
            if ((size + 1) * 2 > keys.length) {
                grow();
                slot = slot(key);
            }
            keys[slot] = key;
            if (size == order.length) {
                order = Arrays.copyOf(order, size * 2);
            }
            order[size++] = key;
        }
        return ++counts[slot];
    }

    int count(int key) {
        int slot = slot(key);
        return keys[slot] == key ? counts[slot] : 0;
    }

    boolean contains(int key) {
        return key >= 0 && keys[slot(key)] == key;
    }

    /** Number of distinct keys. */
    int size() {
        return size;
    }

    /** The i-th distinct key, 0 <= i < size(). */
    int key(int i) {
        return order[i];
    }

    private int slot(int key) {
        int mask = keys.length - 1;
        int h = key * 0x9E3779B9;
        int s = (h ^ (h >>> 16)) & mask;
        while (keys[s] != EMPTY && keys[s] != key) {
            s = (s + 1) & mask;
        }
        return s;
    }

    private void grow() {
        int[] oldKeys = keys;
        int[] oldCounts = counts;
        keys = filled(oldKeys.length * 2);
        counts = new int[oldKeys.length * 2];
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                int s = slot(oldKeys[i]);
                keys[s] = oldKeys[i];
                counts[s] = oldCounts[i];
            }
        }
    }
}
