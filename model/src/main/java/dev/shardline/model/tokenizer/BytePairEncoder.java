package dev.shardline.model.tokenizer;

import java.util.Arrays;

/**
 * BPE over arrays of symbol ids: repeatedly merge the adjacent pair with the lowest merge rank (leftmost first among
 * equal ranks) until no adjacent pair has a rank, exactly as HF {@code tokenizers}' {@code Word::merge_all}.
 * Short words use a rank array scanned for the minimum; long ones (runs of spaces, base64) a linked list and a heap.
 */
final class BytePairEncoder {
    /** Words up to this many symbols use the quadratic scan; longer ones the heap. */
    static final int SCAN_LIMIT = 96;

    private final LongIntMap ranks;   // pair(left id, right id) -> rank
    private final int[] mergedId;     // [merges] rank -> id of the merged symbol

    BytePairEncoder(LongIntMap ranks, int[] mergedId) {
        this.ranks = ranks;
        this.mergedId = mergedId;
    }

    private int rank(int left, int right) {
        return ranks.get(LongIntMap.pair(left, right));
    }

    /** Merges syms[0..n) (ids of single bytes) and returns the final ids. */
    int[] merge(int[] syms, int n) {
        if (n <= 1) return Arrays.copyOf(syms, n);
        return n <= SCAN_LIMIT ? mergeByScan(syms, n) : mergeByHeap(syms, n);
    }

    int[] mergeByScan(int[] syms, int n) {
        int[] s = Arrays.copyOf(syms, n);
        int[] r = new int[n]; // r[i] = rank of pair (s[i], s[i+1]) or MAX_VALUE
        for (int i = 0; i + 1 < n; i++) r[i] = rankOrMax(s[i], s[i + 1]);
        r[n - 1] = Integer.MAX_VALUE;
        while (n > 1) {
            int best = Integer.MAX_VALUE;
            int at = -1;
            for (int i = 0; i + 1 < n; i++) {
                if (r[i] < best) {
                    best = r[i];
                    at = i;
                }
            }
            if (at < 0) break;
            s[at] = mergedId[best];
            System.arraycopy(s, at + 2, s, at + 1, n - at - 2);
            System.arraycopy(r, at + 2, r, at + 1, n - at - 2);
            n--;
            r[n - 1] = Integer.MAX_VALUE;
            if (at + 1 < n) r[at] = rankOrMax(s[at], s[at + 1]);
            else r[at] = Integer.MAX_VALUE;
            if (at > 0) r[at - 1] = rankOrMax(s[at - 1], s[at]);
        }
        return Arrays.copyOf(s, n);
    }

    private int rankOrMax(int left, int right) {
        int k = rank(left, right);
        return k < 0 ? Integer.MAX_VALUE : k;
    }

    int[] mergeByHeap(int[] syms, int n) {
        int[] s = Arrays.copyOf(syms, n);
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            int k = rank(s[i], s[i + 1]);
            if (k >= 0) heap.push(((long) k << 32) | i);
        }
        int alive = n;
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int k = (int) (top >>> 32);
            int i = (int) top;
            int j = next[i];
            if (s[i] < 0 || j < 0 || rank(s[i], s[j]) != k) continue; // stale entry
            s[i] = mergedId[k];
            s[j] = -1;
            int after = next[j];
            next[i] = after;
            if (after >= 0) prev[after] = i;
            alive--;
            if (prev[i] >= 0) {
                int p = prev[i];
                int kp = rank(s[p], s[i]);
                if (kp >= 0) heap.push(((long) kp << 32) | p);
            }
            if (after >= 0) {
                int kn = rank(s[i], s[after]);
                if (kn >= 0) heap.push(((long) kn << 32) | i);
            }
        }
        int[] out = new int[alive];
        int o = 0;
        for (int i = 0; i >= 0; i = next[i]) out[o++] = s[i];
        return out;
    }

    /** A binary min-heap of longs (rank in the high half, position in the low half). */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == a.length) a = Arrays.copyOf(a, size * 2);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (a[parent] <= v) break;
                a[i] = a[parent];
                i = parent;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long last = a[--size];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= size) break;
                if (c + 1 < size && a[c + 1] < a[c]) c++;
                if (a[c] >= last) break;
                a[i] = a[c];
                i = c;
            }
            a[i] = last;
            return top;
        }
    }
}
