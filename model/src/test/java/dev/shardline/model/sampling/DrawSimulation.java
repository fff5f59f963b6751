package dev.shardline.model.sampling;

import java.util.Arrays;

/**
 * Two independent implementations of the temperature draw, for tests: {@link #reference} follows the Sampler's
 * javadoc literally (whole-vocabulary sorts, one sequential sum), and {@link #deviceOrder} adds the weights the way
 * the CUDA sample kernel does (1024 threads; per-thread contiguous chunks or one top-k candidate per thread, then a
 * Hillis-Steele block scan), with {@link DrawWeights} or, to show what order does to float sums, with the former
 * float weights {@code (float) exp(z)} added in float.
 */
final class DrawSimulation {
    static final int THREADS = 1024;

    private DrawSimulation() {
    }

    /** The Sampler's rule on x[0..n) (bias and penalties already applied), by sorting. */
    static int reference(float[] x, int n, SamplingParams p, double u) {
        int top = Sampler.argmax(x, n);
        float max = x[top];
        if (!Float.isFinite(max)) return top;
        float invT = (float) (1.0 / p.temperature());
        long[] w = new long[n];
        for (int i = 0; i < n; i++) w[i] = DrawWeights.weight(x[i], max, invT);
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        boolean kOn = p.topKEnabled() && p.topK() < n;
        int count = n;
        if (kOn) {
            Arrays.sort(order, (a, b) -> Long.compare(Selection.key(x[a], a), Selection.key(x[b], b)));
            count = p.topK();
        } else if (p.topP() < 1) {
            Arrays.sort(order, (a, b) -> w[a] != w[b] ? Long.compare(w[b], w[a]) : Integer.compare(a, b));
        }
        if (p.topP() < 1) {
            long total = 0;
            for (int j = 0; j < count; j++) total += w[order[j]];
            long before = 0;
            int keep = 0;
            while (keep < count && (double) before < p.topP() * (double) total) before += w[order[keep++]];
            count = Math.max(keep, 1);
        }
        int[] ids = new int[count];
        int kept = 0;
        for (int j = 0; j < count; j++) {
            if ((double) w[order[j]] >= p.minP() * 0x1p42) ids[kept++] = order[j];
        }
        long total = 0;
        for (int j = 0; j < kept; j++) total += w[ids[j]];
        long target = Math.min((long) (u * (double) total), total - 1);
        long cum = 0;
        for (int j = 0; j < kept; j++) {
            cum += w[ids[j]];
            if (cum > target) return ids[j];
        }
        throw new AssertionError("no token");
    }

    /**
     * The kernel's order on {@link DrawWeights}: with top-k in 1..threads, one sorted candidate per thread and two
     * block scans (top-p, then min-p and the draw); with top-k off (top-p must be 1), contiguous chunks of
     * ceil(n / threads) tokens, a scan of the chunk sums, and the chunk whose range holds the target scanned again.
     */
    static int deviceOrder(float[] x, int n, SamplingParams p, double u, int threads) {
        int top = Sampler.argmax(x, n);
        float max = x[top];
        if (!Float.isFinite(max)) return top;
        float invT = (float) (1.0 / p.temperature());
        double minW = p.minP() * 0x1p42;
        if (topKOn(p, n)) {
            int k = p.topK();
            int[] cand = topK(x, n, k, threads);
            long[] w = new long[threads];
            for (int j = 0; j < k; j++) w[j] = DrawWeights.weight(x[cand[j]], max, invT);
            long[] excl = scan(w);
            int keep = k;
            if (p.topP() < 1) {
                double limit = p.topP() * (double) (excl[threads - 1] + w[threads - 1]);
                keep = 0;
                for (int j = 0; j < k; j++) if ((double) excl[j] < limit) keep++;
                keep = Math.max(keep, 1);
            }
            long[] w2 = new long[threads];
            for (int j = 0; j < keep; j++) w2[j] = (double) w[j] >= minW ? w[j] : 0;
            long[] excl2 = scan(w2);
            long total = excl2[threads - 1] + w2[threads - 1];
            long target = Math.min((long) (u * (double) total), total - 1);
            for (int j = 0; j < keep; j++) {
                if (excl2[j] <= target && target < excl2[j] + w2[j]) return cand[j];
            }
            throw new AssertionError("no thread holds the target");
        }
        int chunk = (n + threads - 1) / threads;
        long[] sums = new long[threads];
        for (int t = 0; t < threads; t++) {
            for (int i = Math.min(n, t * chunk); i < Math.min(n, (t + 1) * chunk); i++) {
                long w = DrawWeights.weight(x[i], max, invT);
                if ((double) w >= minW) sums[t] += w;
            }
        }
        long[] excl = scan(sums);
        long total = excl[threads - 1] + sums[threads - 1];
        long target = Math.min((long) (u * (double) total), total - 1);
        for (int t = 0; t < threads; t++) {
            if (excl[t] <= target && target < excl[t] + sums[t]) {
                long cum = excl[t];
                for (int i = t * chunk; i < Math.min(n, (t + 1) * chunk); i++) {
                    long w = DrawWeights.weight(x[i], max, invT);
                    if ((double) w >= minW) cum += w;
                    if (cum > target) return i;
                }
            }
        }
        throw new AssertionError("no thread holds the target");
    }

    /**
     * As {@link #deviceOrder} with the former arithmetic: float weights {@code (float) exp(z)} (1 for the top
     * token), added in float in the kernel's order; min-p compares w with min_p. threads = 1 adds sequentially.
     */
    static int deviceOrderFloat(float[] x, int n, SamplingParams p, double u, int threads) {
        int top = Sampler.argmax(x, n);
        float max = x[top];
        if (!Float.isFinite(max)) return top;
        float invT = (float) (1.0 / p.temperature());
        float minW = (float) p.minP();
        int[] ids;
        float[] w;
        int count;
        if (topKOn(p, n)) {
            count = p.topK();
            ids = topK(x, n, count, count);
            w = new float[count];
            for (int j = 0; j < count; j++) w[j] = (float) Math.exp((x[ids[j]] - max) * invT);
            if (p.topP() < 1) {
                float[] excl = scanFloat(w, threads);
                float limit = (float) (p.topP() * (excl[count - 1] + w[count - 1]));
                int keep = 0;
                while (keep < count && excl[keep] < limit) keep++;
                count = Math.max(keep, 1);
            }
        } else {
            count = n;
            ids = new int[n];
            w = new float[n];
            for (int i = 0; i < n; i++) {
                ids[i] = i;
                w[i] = (float) Math.exp((x[i] - max) * invT);
            }
        }
        float[] w2 = new float[count];
        for (int j = 0; j < count; j++) w2[j] = w[j] >= minW ? w[j] : 0f;
        float[] excl = scanFloat(w2, threads);
        float total = excl[count - 1] + w2[count - 1];
        float target = (float) (u * total);
        int last = 0;
        for (int j = 0; j < count; j++) {
            if (w2[j] > 0) last = j;
            if (w2[j] > 0 && excl[j] + w2[j] > target) return ids[j];
        }
        return ids[last];
    }

    static boolean topKOn(SamplingParams p, int n) {
        return p.topKEnabled() && p.topK() < n;
    }

    /** The k best ids by Selection.key (the kernel's radix select and bitonic sort), padded to size. */
    private static int[] topK(float[] x, int n, int k, int size) {
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) keys[i] = Selection.key(x[i], i);
        Arrays.sort(keys);
        int[] ids = new int[Math.max(size, k)];
        for (int j = 0; j < k; j++) ids[j] = (int) keys[j];
        return ids;
    }

    /** Exclusive Hillis-Steele scan (the order a warp-shuffle block scan adds in); exact for longs. */
    private static long[] scan(long[] v) {
        long[] incl = v.clone();
        for (int offset = 1; offset < incl.length; offset <<= 1) {
            long[] next = incl.clone();
            for (int i = offset; i < incl.length; i++) next[i] = incl[i] + incl[i - offset];
            incl = next;
        }
        long[] excl = new long[v.length];
        System.arraycopy(incl, 0, excl, 1, v.length - 1);
        return excl;
    }

    /**
     * Exclusive float scan in the kernel's order: each of {@code threads} threads sums a contiguous chunk, a
     * Hillis-Steele scan over the chunk sums, then running sums inside each chunk (threads = 1: sequential).
     */
    private static float[] scanFloat(float[] v, int threads) {
        int chunk = (v.length + threads - 1) / threads;
        float[] sums = new float[threads];
        for (int i = 0; i < v.length; i++) sums[i / chunk] += v[i];
        float[] incl = sums.clone();
        for (int offset = 1; offset < threads; offset <<= 1) {
            float[] next = incl.clone();
            for (int i = offset; i < threads; i++) next[i] = incl[i] + incl[i - offset];
            incl = next;
        }
        float[] excl = new float[v.length];
        for (int t = 0; t < threads; t++) {
            float run = t == 0 ? 0f : incl[t - 1];
            for (int i = t * chunk; i < Math.min(v.length, (t + 1) * chunk); i++) {
                excl[i] = run;
                run += v[i];
            }
        }
        return excl;
    }
}
