package dev.shardline.worker.cuda;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * What {@code argmax_top_kernel} (sampling.cu) writes, computed on the CPU from the same logits: the argmax as
 * {@code block_argmax} (largest non-NaN, lowest id; all NaN: id 0 and x[0]), the flags, the double log-sum, and the
 * top ids by {@code top_k_sorted}'s order (the unsigned key of sampling.cu's order_key: positive NaN above +inf,
 * negative NaN below -inf, -0 below +0; lower id first on ties). Tests feed it to {@link DeviceTopLogprobs#decode}
 * to check the host side against the {@code Sampler} without a GPU.
 */
public final class ArgmaxTopSimulation {
    private ArgmaxTopSimulation() {
    }

    /** rows [rows, stride] of {@code logits}, over the first n values of each, with {@code top} alternatives. */
    public static int[] run(float[] logits, int rows, int stride, int n, int top) {
        int width = DeviceTopLogprobs.rowInts(top);
        int[] out = new int[rows * width];
        for (int r = 0; r < rows; r++) {
            int o = r * stride;
            int at = r * width;
            int best = -1;
            float max = Float.NEGATIVE_INFINITY;
            int flags = 0;
            for (int i = 0; i < n; i++) {
                float v = logits[o + i];
                if (Float.isNaN(v)) {
                    flags |= DeviceTopLogprobs.NAN;
                    continue;
                }
                if (v == 0f) flags |= (Float.floatToRawIntBits(v) < 0) ? DeviceTopLogprobs.NEGATIVE_ZERO
                        : DeviceTopLogprobs.POSITIVE_ZERO;
                if (best < 0 || v > max) {
                    best = i;
                    max = v;
                }
            }
            if (best < 0) {
                best = 0;
                max = logits[o];
            }
            double sum = 0;
            if (Float.isFinite(max)) {
                for (int i = 0; i < n; i++) {
                    float v = logits[o + i];
                    if (!Float.isNaN(v)) sum += Math.exp((double) (v - max));
                }
            }
            double logSum = Float.isFinite(max) ? Math.log(sum) : 0.0;
            long bits = Double.doubleToRawLongBits(logSum);
            out[at] = best;
            out[at + 1] = flags;
            out[at + 2] = Float.floatToRawIntBits(max);
            out[at + 3] = Float.floatToRawIntBits(logits[o + best]);
            out[at + 4] = (int) bits;
            out[at + 5] = (int) (bits >>> 32);
            Integer[] ids = IntStream.range(0, n).boxed().toArray(Integer[]::new);
            Arrays.sort(ids, Comparator.<Integer>comparingLong(i -> orderKey(logits[o + i])).reversed()
                    .thenComparingInt(i -> i));
            for (int j = 0; j < top; j++) {
                out[at + DeviceTopLogprobs.HEADER + j] = ids[j];
                out[at + DeviceTopLogprobs.HEADER + top + j] = Float.floatToRawIntBits(logits[o + ids[j]]);
            }
        }
        return out;
    }

    /** sampling.cu's order_key as an unsigned 32-bit value. */
    static long orderKey(float v) {
        int u = Float.floatToRawIntBits(v);
        int k = u < 0 ? ~u : (u | 0x80000000);
        return k & 0xffffffffL;
    }
}
