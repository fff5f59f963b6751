package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.sampling.DrawWeights;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * What {@code sample_kernel} (sampling.cu) writes, computed on the CPU in the kernel's order: the row's bias and
 * penalties applied to a copy ({@code DrawEdits}), the header of {@link ArgmaxTopSimulation} (raw max and log-sum;
 * flags of the edited row plus a raw NaN), then the draw over the edited row on {@link DrawWeights} with 1024
 * "threads": top-k candidates sorted by the kernel's order key, one per thread, an exclusive Hillis-Steele scan for
 * top-p and another after min-p; without top-k, contiguous per-thread chunks, a scan of their sums and the chunk
 * holding the target scanned again; ZERO_AT_K when the k-th candidate is a zero. Tests feed it to
 * {@link DeviceDraws#decode} to check the host side and the kernel's order against the {@code Sampler} without a
 * GPU.
 */
public final class DrawKernelSimulation {
    static final int THREADS = 1024;

    private DrawKernelSimulation() {
    }

    /** rows [rows, stride] of {@code logits} from row {@code firstRow}, over the first n values of each. */
    public static int[] run(float[] logits, int firstRow, int rows, int stride, int n, DeviceDraw[] draws) {
        int[] out = new int[rows * DeviceDraws.ROW_INTS];
        for (int r = 0; r < rows; r++) {
            int o = (firstRow + r) * stride;
            DeviceDraw d = draws[r];
            float[] raw = Arrays.copyOfRange(logits, o, o + n);
            float[] x = raw.clone();
            d.edits().apply(x, 0);                                    // bias and penalties, in a copy
            int[] header = ArgmaxTopSimulation.run(raw, 1, n, n, 1);  // raw max and log-sum: the log-prob's
            int[] edited = ArgmaxTopSimulation.run(x, 1, n, n, 1);    // the draw's max and argmax
            int at = r * DeviceDraws.ROW_INTS;
            System.arraycopy(header, 0, out, at, DeviceDraws.ROW_INTS);
            out[at + 1] = (header[1] & DeviceTopLogprobs.NAN) | edited[1];
            float max = Float.intBitsToFloat(edited[2]);
            int id = edited[0];                                       // a non-finite max: the argmax, as the host
            if (Float.isFinite(max) && d.invTemperature() > 0) {     // 1/T 0: greedy
                id = d.topK() > 0 && d.topK() < n ? topK(x, n, max, d) : dense(x, n, max, d);
                if (d.topK() > 0 && d.topK() < n && kth(x, n, d.topK()) == 0f) out[at + 1] |= DeviceDraws.ZERO_AT_K;
            }
            out[at] = id;
            out[at + 3] = Float.floatToRawIntBits(raw[id]);
        }
        return out;
    }

    private static int topK(float[] x, int n, float max, DeviceDraw d) {
        int k = d.topK();
        int[] cand = sorted(x, n);
        long[] w = new long[THREADS];
        for (int j = 0; j < k; j++) w[j] = DrawWeights.weight(x[cand[j]], max, d.invTemperature());
        long[] before = scan(w);
        int keep = k;
        if (d.topP() < 1) {
            double limit = d.topP() * (double) (before[THREADS - 1] + w[THREADS - 1]);
            keep = 0;
            for (int j = 0; j < k; j++) if ((double) before[j] < limit) keep++;
            keep = Math.max(keep, 1);
        }
        double minW = d.minP() * 0x1p42;
        long[] w2 = new long[THREADS];
        for (int j = 0; j < keep; j++) w2[j] = (double) w[j] >= minW ? w[j] : 0;
        long[] before2 = scan(w2);
        long total = before2[THREADS - 1] + w2[THREADS - 1];
        long target = Math.min((long) (d.u() * (double) total), total - 1);
        for (int j = 0; j < THREADS; j++) {
            if (w2[j] > 0 && before2[j] <= target && target < before2[j] + w2[j]) return cand[j];
        }
        throw new AssertionError("no thread holds the target");
    }

    private static int dense(float[] x, int n, float max, DeviceDraw d) {
        double minW = d.minP() * 0x1p42;
        int chunk = (n + THREADS - 1) / THREADS;
        long[] mass = new long[THREADS];
        for (int t = 0; t < THREADS; t++) {
            for (int i = Math.min(n, t * chunk); i < Math.min(n, (t + 1) * chunk); i++) {
                long w = DrawWeights.weight(x[i], max, d.invTemperature());
                if ((double) w >= minW) mass[t] += w;
            }
        }
        long[] before = scan(mass);
        long total = before[THREADS - 1] + mass[THREADS - 1];
        long target = Math.min((long) (d.u() * (double) total), total - 1);
        for (int t = 0; t < THREADS; t++) {
            if (mass[t] > 0 && before[t] <= target && target < before[t] + mass[t]) {
                long cum = before[t];
                for (int i = t * chunk; i < Math.min(n, (t + 1) * chunk); i++) {
                    long w = DrawWeights.weight(x[i], max, d.invTemperature());
                    if ((double) w >= minW) cum += w;
                    if (cum > target) return i;
                }
            }
        }
        throw new AssertionError("no thread holds the target");
    }

    /** Ids by the kernel's order key, descending, lower id first on ties. */
    private static int[] sorted(float[] x, int n) {
        Integer[] ids = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(ids, Comparator.<Integer>comparingLong(i -> ArgmaxTopSimulation.orderKey(x[i])).reversed()
                .thenComparingInt(i -> i));
        int[] out = new int[Math.max(n, THREADS)];
        for (int j = 0; j < n; j++) out[j] = ids[j];
        return out;
    }

    private static float kth(float[] x, int n, int k) {
        return x[sorted(x, n)[k - 1]];
    }

    /** Exclusive Hillis-Steele scan (the order of the kernel's warp-shuffle block scan); exact for longs. */
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
}
