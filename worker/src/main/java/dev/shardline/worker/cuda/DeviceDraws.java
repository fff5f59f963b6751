package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.sampling.SampledToken;

/**
 * The host side of {@code sample_kernel} (pure): the checks on a step's draws, and what the kernel returns per row
 * turned into the {@link SampledToken} the host {@code Sampler} would report. Row r holds {@link #ROW_INTS} ints:
 * {@code id | flags | max | value of id | log(sum exp(x - max)) as a double, low int first} (the layout of
 * {@link DeviceTopLogprobs}' header), so the log-prob is the host's formula on the raw logits.
 *
 * <p>The kernel draws with the host's exact rule on {@code DrawWeights}, and the host's top-k heap compares floats,
 * so two corners are declined (null: the caller samples the row on the host from its logits): a NaN in the row
 * (the heap and the argmax treat NaN apart), and both zeros present with a zero as the top-k path's k-th candidate
 * (for the heap -0 == +0, so which one it keeps depends on their ids' order).
 */
public final class DeviceDraws {

    /** Ints per row. */
    public static final int ROW_INTS = DeviceTopLogprobs.HEADER;
    /** Flag: the top-k path's k-th candidate is a zero. */
    static final int ZERO_AT_K = 8;

    private DeviceDraws() {
    }

    /**
     * Byte offsets of the per-row parameters in one upload for {@code rows} rows: f32 1/T, i32 top-k, then (8-byte
     * aligned) f64 top-p, f64 min-p, f64 u; {@code bytes} in all.
     */
    public record Layout(long invTemperature, long topK, long topP, long minP, long u, long bytes) {
        public static Layout of(int rows) {
            long doubles = (8L * rows + 7) & ~7L;
            return new Layout(0, 4L * rows, doubles, doubles + 8L * rows, doubles + 16L * rows, doubles + 24L * rows);
        }
    }

    /** The parameter columns of draws[0..rows), in the kernel's types. */
    public record Columns(float[] invTemperature, int[] topK, double[] topP, double[] minP, double[] u) {
        public static Columns of(DeviceDraw[] draws, int rows) {
            Columns c = new Columns(new float[rows], new int[rows], new double[rows], new double[rows], new double[rows]);
            for (int r = 0; r < rows; r++) {
                c.invTemperature[r] = draws[r].invTemperature();
                c.topK[r] = draws[r].topK();
                c.topP[r] = draws[r].topP();
                c.minP[r] = draws[r].minP();
                c.u[r] = draws[r].u();
            }
            return c;
        }
    }

    /**
     * Checks that the device can draw {@code draws[0..rows)} over n values with top-k up to {@code maxTopK}.
     *
     * @throws IllegalArgumentException naming the row and setting otherwise
     */
    public static void check(DeviceDraw[] draws, int rows, int n, int maxTopK) {
        if (draws.length < rows) {
            throw new IllegalArgumentException(draws.length + " draws for " + rows + " rows");
        }
        for (int r = 0; r < rows; r++) {
            DeviceDraw d = draws[r];
            String row = "draw row " + r + ": ";
            if (!(d.invTemperature() > 0 && Float.isFinite(d.invTemperature()))) {
                throw new IllegalArgumentException(row + "invTemperature " + d.invTemperature() + " is not a positive number");
            }
            boolean kOn = d.topK() > 0 && d.topK() < n;
            if (kOn && d.topK() > maxTopK) {
                throw new IllegalArgumentException(row + "top_k " + d.topK() + " > " + maxTopK + " needs host sampling");
            }
            if (!(d.topP() > 0 && d.topP() <= 1)) {
                throw new IllegalArgumentException(row + "top_p " + d.topP() + " outside (0, 1]");
            }
            if (!kOn && d.topP() < 1) {
                throw new IllegalArgumentException(row + "top_p " + d.topP() + " without top_k needs host sampling");
            }
            if (!(d.minP() >= 0 && d.minP() <= 1)) {
                throw new IllegalArgumentException(row + "min_p " + d.minP() + " outside [0, 1]");
            }
            if (!(d.u() >= 0 && d.u() < 1)) {
                throw new IllegalArgumentException(row + "u " + d.u() + " outside [0, 1)");
            }
        }
    }

    /** Row {@code r}'s token and log-prob, or null when the host could draw another token (see the class). */
    public static SampledToken decode(int[] out, int r) {
        int at = r * ROW_INTS;
        int flags = out[at + 1];
        if ((flags & DeviceTopLogprobs.NAN) != 0) return null;
        boolean bothZeros = (flags & DeviceTopLogprobs.POSITIVE_ZERO) != 0
                && (flags & DeviceTopLogprobs.NEGATIVE_ZERO) != 0;
        if (bothZeros && (flags & ZERO_AT_K) != 0) return null;
        float max = Float.intBitsToFloat(out[at + 2]);
        float chosen = Float.intBitsToFloat(out[at + 3]);
        double logSum = Double.longBitsToDouble((out[at + 4] & 0xffffffffL) | ((long) out[at + 5] << 32));
        return new SampledToken(out[at], DeviceTopLogprobs.logSoftmax(chosen, max, logSum, false));
    }
}
