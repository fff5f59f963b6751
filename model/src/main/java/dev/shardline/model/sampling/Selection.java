package dev.shardline.model.sampling;

import java.util.Arrays;

/**
 * Candidate selection for the {@link Sampler} without sorting the vocabulary: top-k through a k-sized heap (order:
 * value descending, then id ascending), and top-p without top-k through a histogram of {@link DrawWeights} over
 * buckets of the weights' leading bits, sorting only the buckets where the cumulative weight crosses top_p and the
 * draw's target (order: weight descending, then id ascending).
 */
final class Selection {
    private Selection() {
    }

    /** A long that sorts ascending by (value descending, id ascending); the low 32 bits are the id. */
    static long key(float value, int id) {
        int bits = Float.floatToRawIntBits(value);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // monotone in value as a signed int
        return ((long) ~ordered << 32) | (id & 0xffffffffL);
    }

    /**
     * Puts the k best of x[0..n) into keys[0..k), best first; returns k.
     * A max-heap of keys keeps the current k best with the worst at the root; most values fail one comparison.
     */
    static int selectTopK(float[] x, int n, int k, long[] keys) {
        return selectTopK(x, 0, n, k, keys);
    }

    /** As {@link #selectTopK(float[], int, int, long[])} over x[off .. off + n); the ids in keys are relative to off. */
    static int selectTopK(float[] x, int off, int n, int k, long[] keys) {
        int size = 0;
        float worst = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = x[off + i];
            if (size == k) {
                if (!(v > worst)) continue; // an equal value with a higher id ranks lower
                keys[0] = key(v, i);
                siftDown(keys, k);
                worst = x[off + (int) keys[0]];
            } else {
                int c = size++;
                keys[c] = key(v, i);
                while (c > 0) {
                    int parent = (c - 1) >>> 1;
                    if (keys[parent] >= keys[c]) break;
                    long tmp = keys[parent];
                    keys[parent] = keys[c];
                    keys[c] = tmp;
                    c = parent;
                }
                if (size == k) worst = x[off + (int) keys[0]];
            }
        }
        Arrays.sort(keys, 0, size);
        return size;
    }

    private static void siftDown(long[] heap, int size) {
        int c = 0;
        while (true) {
            int l = 2 * c + 1;
            if (l >= size) return;
            int big = (l + 1 < size && heap[l + 1] > heap[l]) ? l + 1 : l;
            if (heap[c] >= heap[big]) return;
            long tmp = heap[c];
            heap[c] = heap[big];
            heap[big] = tmp;
            c = big;
        }
    }

    /**
     * Top-p without top-k, min-p and the draw, on {@link DrawWeights} over x[0..n) (row max {@code max}, finite):
     * the candidates are all tokens sorted by weight descending, lower id first on ties; top-p keeps the shortest
     * prefix while (double) cumBefore < topP x (double) total (at least 1; a zero weight is never kept), min-p keeps
     * those with (double) w >= minP x 2^42 (a prefix again), and the token is the first whose inclusive cumulative
     * weight exceeds (long) (u x final total), clamped to total - 1. Returns its id.
     *
     * <p>Without sorting the vocabulary: weights are bucketed by their leading bits ({@link #bucket}, monotone in
     * the weight), whole buckets above the top-p crossing are kept as they are, and only two buckets are sorted:
     * the one where the cumulative weight crosses top-p and the one where it crosses the draw's target.
     *
     * @param wAll scratch [n] for the weights, keys scratch [n], mass scratch [2 x BUCKETS]
     */
    static int nucleusDraw(float[] x, int n, float max, float invT, double topP, double minP, double u,
                           long[] wAll, long[] keys, long[] mass) {
        if (n > MAX_NUCLEUS_VOCAB) {
            throw new IllegalArgumentException("vocabSize " + n
                    + ": top_p without top_k samples vocabularies of at most " + MAX_NUCLEUS_VOCAB + " tokens");
        }
        Arrays.fill(mass, 0, 2 * BUCKETS, 0L);
        long total = 0;
        DrawWeightsVector.weights(x, n, max, invT, wAll);
        for (int i = 0; i < n; i++) {
            long w = wAll[i];
            if (w > 0) {
                mass[bucket(w)] += w;
                total += w;
            }
        }
        double limit = topP * (double) total;
        long above = 0;          // mass of the buckets before the crossing one: all kept
        int crossing = BUCKETS - 1;
        for (int b = 0; b < BUCKETS; b++) {
            if ((double) (above + mass[b]) >= limit) {
                crossing = b;
                break;
            }
            above += mass[b];
        }
        int inCrossing = gather(wAll, n, crossing, Double.NEGATIVE_INFINITY, keys);
        long cum = above;
        int keep = 0;            // the crossing bucket's kept prefix, keys[0..keep)
        while (keep < inCrossing && ((double) cum < limit || (above == 0 && keep == 0))) {
            cum += weightOfKey(keys[keep++]);
        }
        double minW = minP * DrawWeights.TOP;
        int fin = BUCKETS;       // mass[fin + b]: the kept mass of bucket b after min-p (b < crossing)
        if (minP > 0) {
            for (int i = 0; i < n; i++) {
                long w = wAll[i];
                if (w > 0 && (double) w >= minW) {
                    int b = bucket(w);
                    if (b < crossing) mass[fin + b] += w;
                }
            }
        } else {
            System.arraycopy(mass, 0, mass, fin, crossing);
        }
        long finalTotal = 0;
        for (int b = 0; b < crossing; b++) {
            finalTotal += mass[fin + b];
        }
        for (int j = 0; j < keep; j++) {
            long w = weightOfKey(keys[j]);
            if ((double) w >= minW) finalTotal += w;
        }
        long target = Math.min((long) (u * (double) finalTotal), finalTotal - 1);
        long before = 0;
        for (int b = 0; b < crossing; b++) {
            if (before + mass[fin + b] > target) {
                int members = gather(wAll, n, b, minW, keys);
                return firstAbove(keys, members, before, target, minW);
            }
            before += mass[fin + b];
        }
        return firstAbove(keys, keep, before, target, minW);
    }

    /** Largest vocabulary {@link #nucleusDraw} sorts: ids take the low 20 bits of its keys. */
    static final int MAX_NUCLEUS_VOCAB = 1 << 20;
    /** Weight bits below the leading one that split a power-of-two range of weights into buckets. */
    private static final int MANTISSA_BITS = 6;
    /** Buckets of weights in [1, 2^43), heaviest first. */
    static final int BUCKETS = (DrawWeights.SCALE_BITS + 1) << MANTISSA_BITS;

    /** Bucket of a positive weight: 0 holds the heaviest; a larger weight never has a larger bucket. */
    static int bucket(long w) {
        int e = 63 - Long.numberOfLeadingZeros(w);
        long m = e >= MANTISSA_BITS ? w >>> (e - MANTISSA_BITS) : w << (MANTISSA_BITS - e);
        return BUCKETS - 1 - ((e << MANTISSA_BITS) | (int) (m & ((1 << MANTISSA_BITS) - 1)));
    }

    /** A long that sorts ascending by (weight descending, id ascending); ids below 2^20. */
    static long weightKey(long w, int id) {
        return ((2 * DrawWeights.TOP - 1 - w) << 20) | id;
    }

    static long weightOfKey(long key) {
        return 2 * DrawWeights.TOP - 1 - (key >>> 20);
    }

    /** The tokens of bucket b with (double) w >= minW, as sorted keys in keys[0..count); returns count. */
    private static int gather(long[] wAll, int n, int b, double minW, long[] keys) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            long w = wAll[i];
            if (w > 0 && bucket(w) == b && (double) w >= minW) keys[count++] = weightKey(w, i);
        }
        Arrays.sort(keys, 0, count);
        return count;
    }

    /** The id of the first of keys[0..count) with (double) w >= minW where before + its cumulative weight > target. */
    private static int firstAbove(long[] keys, int count, long before, long target, double minW) {
        long cum = before;
        for (int j = 0; j < count; j++) {
            long w = weightOfKey(keys[j]);
            if ((double) w < minW) continue;
            cum += w;
            if (cum > target) return (int) (keys[j] & ((1 << 20) - 1));
        }
        throw new IllegalStateException("the draw's target " + target + " is beyond the kept weight " + cum);
    }
}
