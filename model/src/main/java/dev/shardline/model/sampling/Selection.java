package dev.shardline.model.sampling;

import java.util.Arrays;

/**
 * Candidate selection for the {@link Sampler} without sorting the vocabulary: top-k through a k-sized heap, and
 * top-p through a histogram of probability mass over exponent buckets, sorting only the one bucket where the
 * cumulative mass crosses top_p. Order everywhere: value descending, then id ascending.
 */
final class Selection {
    /** Buckets of the exponent (max - x) / T between 0 and the cut-off exponent. */
    static final int BUCKETS = 2048;

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
     * Top-p over the whole vocabulary. x: logits [n]; wAll: exp((x - max) * invT) [n], summing to norm.
     * Writes the nucleus (the tokens whose more-likely mass is below topP * norm) to ids/w and returns its size.
     * Tokens with weight below (1 - topP) / 2n * norm have more than topP of the mass above them and are skipped;
     * the rest are bucketed by exponent, whole buckets above the crossing are taken as they are (in id order),
     * and only the crossing bucket is sorted.
     */
    static int nucleus(float[] x, float[] wAll, int n, float max, float invT, double norm, double topP,
                       int[] ids, float[] w, long[] keys, double[] mass) {
        double floor = (1.0 - topP) / (2.0 * n) * norm;
        float dMax = (float) -Math.log(floor); // exponent of the floor weight; > 0 since floor < 1
        float perBucket = BUCKETS / dMax;
        Arrays.fill(mass, 0, BUCKETS, 0.0);
        int candidates = 0; // ids[0..candidates): tokens above the floor, in id order
        for (int i = 0; i < n; i++) {
            int b = bucket(x[i], max, invT, dMax, perBucket);
            if (b >= 0) {
                mass[b] += wAll[i];
                ids[candidates++] = i;
            }
        }
        double limit = topP * norm;
        double above = 0;
        int crossing = BUCKETS - 1;
        for (int b = 0; b < BUCKETS; b++) {
            if (above + mass[b] >= limit) {
                crossing = b;
                break;
            }
            above += mass[b];
        }
        int count = 0; // compacts ids in place: count <= j
        int inCrossing = 0;
        for (int j = 0; j < candidates; j++) {
            int i = ids[j];
            int b = bucket(x[i], max, invT, dMax, perBucket);
            if (b < crossing) {
                ids[count] = i;
                w[count++] = wAll[i];
            } else if (b == crossing) {
                keys[inCrossing++] = key(x[i], i);
            }
        }
        Arrays.sort(keys, 0, inCrossing);
        double cumBefore = above;
        for (int j = 0; j < inCrossing && (cumBefore < limit || count == 0); j++) {
            int id = (int) keys[j];
            ids[count] = id;
            w[count++] = wAll[id];
            cumBefore += wAll[id];
        }
        return count;
    }

    /** Bucket of a logit, or -1 when its weight is below the floor. */
    private static int bucket(float x, float max, float invT, float dMax, float perBucket) {
        float d = (max - x) * invT;
        if (!(d <= dMax)) return -1;
        return Math.min(BUCKETS - 1, (int) (d * perBucket));
    }
}
