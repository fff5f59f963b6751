package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.sampling.DrawEdits;
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
     * Byte offsets of the per-row parameters in one upload for {@code rows} rows with {@code edits} edits in all:
     * f32 1/T, i32 top-k, then (8-byte aligned) f64 top-p, f64 min-p, f64 u, then f32 penalties [rows, 3]
     * (repetition, frequency, presence), i32 edit starts [rows + 1], and per edit i32 id, i32 kind, f32 bias,
     * i32 count; {@code bytes} in all.
     */
    public record Layout(long invTemperature, long topK, long topP, long minP, long u, long penalty, long editStart,
                         long editId, long editKind, long editBias, long editCount, long bytes) {
        public static Layout of(int rows, int edits) {
            long doubles = (8L * rows + 7) & ~7L;
            long penalty = doubles + 24L * rows;
            long editStart = penalty + 12L * rows;
            long editId = editStart + 4L * (rows + 1);
            long editKind = editId + 4L * edits;
            long editBias = editKind + 4L * edits;
            long editCount = editBias + 4L * edits;
            return new Layout(0, 4L * rows, doubles, doubles + 8L * rows, doubles + 16L * rows, penalty, editStart,
                    editId, editKind, editBias, editCount, editCount + 4L * edits);
        }
    }

    /** The parameter columns of draws[0..rows), in the kernel's types; the edits of all rows concatenated. */
    public record Columns(float[] invTemperature, int[] topK, double[] topP, double[] minP, double[] u,
                          float[] penalty, int[] editStart, int[] editId, int[] editKind, float[] editBias,
                          int[] editCount) {
        public static Columns of(DeviceDraw[] draws, int rows) {
            int total = 0;
            for (int r = 0; r < rows; r++) total += draws[r].edits().size();
            Columns c = new Columns(new float[rows], new int[rows], new double[rows], new double[rows],
                    new double[rows], new float[3 * rows], new int[rows + 1], new int[total], new int[total],
                    new float[total], new int[total]);
            int at = 0;
            for (int r = 0; r < rows; r++) {
                DeviceDraw d = draws[r];
                DrawEdits e = d.edits();
                c.invTemperature[r] = d.invTemperature();
                c.topK[r] = d.topK();
                c.topP[r] = d.topP();
                c.minP[r] = d.minP();
                c.u[r] = d.u();
                c.penalty[3 * r] = e.repetition();
                c.penalty[3 * r + 1] = e.frequency();
                c.penalty[3 * r + 2] = e.presence();
                c.editStart[r] = at;
                System.arraycopy(e.ids(), 0, c.editId, at, e.size());
                System.arraycopy(e.kinds(), 0, c.editKind, at, e.size());
                System.arraycopy(e.bias(), 0, c.editBias, at, e.size());
                System.arraycopy(e.counts(), 0, c.editCount, at, e.size());
                at += e.size();
            }
            c.editStart[rows] = at;
            return c;
        }

        public int edits() {
            return editId.length;
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
            if (!(d.invTemperature() >= 0 && Float.isFinite(d.invTemperature()))) {
                throw new IllegalArgumentException(row + "invTemperature " + d.invTemperature()
                        + " is neither 0 (greedy) nor a positive number");
            }
            boolean kOn = d.topK() > 0 && d.topK() < n;
            if (kOn && d.topK() > maxTopK) {
                throw new IllegalArgumentException(row + "top_k " + d.topK() + " > " + maxTopK
                        + " needs host sampling");
            }
            if (!(d.topP() > 0 && d.topP() <= 1)) {
                throw new IllegalArgumentException(row + "top_p " + d.topP() + " outside (0, 1]");
            }
            if (!kOn && d.topP() < 1 && d.invTemperature() > 0) {
                throw new IllegalArgumentException(row + "top_p " + d.topP() + " without top_k needs host sampling");
            }
            if (!(d.minP() >= 0 && d.minP() <= 1)) {
                throw new IllegalArgumentException(row + "min_p " + d.minP() + " outside [0, 1]");
            }
            if (!(d.u() >= 0 && d.u() < 1)) {
                throw new IllegalArgumentException(row + "u " + d.u() + " outside [0, 1)");
            }
            for (int id : d.edits().ids()) {
                if (id < 0 || id >= n) {
                    throw new IllegalArgumentException(row + "edited token " + id + " outside [0, " + n + ")");
                }
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
