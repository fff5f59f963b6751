package dev.shardline.worker.cuda;

import dev.shardline.model.tensor.WeightTensor;

/**
 * What the CUDA matmul paths compute, modelled on the CPU (x's bf16 split exactly, the accumulation closely), so a
 * test's error bound is derived from the path's expected error on the very inputs it checks instead of guessed.
 *
 * <ul>
 *   <li>{@link Path#PRECISE} (gemm.cu, T > 16): x = hi + lo, hi = bf16(x), lo = bf16(x - hi); per 16-wide K step
 *       the tensor core adds the exact products lo * w, then hi * w, to an f32 accumulator (modelled as an exact
 *       16-term sum rounded once into the f32 accumulator).</li>
 *   <li>{@link Path#FAST}: the same with x rounded to bf16 once (no lo).</li>
 *   <li>{@link Path#MATVEC} (matvec.cu, T <= 16): f32 x times bf16 w with f32 fused multiply-adds, 32 lanes each
 *       taking every 32nd 8-element chunk, then a butterfly sum across the lanes.</li>
 * </ul>
 * The broken variants are the bugs a loose bound would let through: {@link Path#PRECISE_WITHOUT_LO} (the second
 * product dropped: numerically FAST where PRECISE was promised) and {@link Path#FAST_WITHOUT_LAST_STEP} (the last
 * 16-wide K step skipped, the classic tail bug). A bound from {@link #bound} must fail them.
 */
public final class GemmNumerics {

    /** The computation a kernel performs, or a broken version of it. */
    public enum Path { PRECISE, FAST, MATVEC, PRECISE_WITHOUT_LO, FAST_WITHOUT_LAST_STEP }

    /**
     * Margin of a bound over the simulated error: the hardware's accumulation (the tensor core's internal sum, the
     * lanes' order) is modelled, not reproduced. PRECISE's and MATVEC's errors are f32 rounding noise, so they get
     * 8x; FAST's is dominated by x's bf16 rounding, which the simulation reproduces exactly, so 1.5x.
     */
    static double margin(Path p) {
        return p == Path.FAST ? 1.5 : 8;
    }

    /** Floor of a bound (normalised): a few f32 ulps of the largest output, whatever the inputs. */
    public static final double FLOOR = 2e-6;

    private GemmNumerics() {
    }

    private static float bf16(float v) {
        return WeightTensor.bf16ToFloat(WeightTensor.floatToBf16(v));
    }

    /** max |got - expected| / max |expected| (NaN counts as infinitely wrong), the tests' normalised error. */
    public static double error(float[] expected, float[] got) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) got[i] - expected[i]);
            diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return diff / Math.max(scale, 1e-30);
    }

    /**
     * The bound a kernel of {@code path} must meet on inputs whose simulated error is {@code simulatedError}:
     * {@code max(margin x simulated, FLOOR)}.
     */
    public static double bound(Path path, double simulatedError) {
        return Math.max(margin(path) * simulatedError, FLOOR);
    }

    /**
     * Simulated outputs of {@code path} at the sampled (token, row) pairs of {@code x [tokens, k]} times {@code w}
     * (path null: the reference's values). x's bf16 split and each weight row are converted once, so simulating
     * costs about what the reference does.
     *
     * @param picks pairs {@code token, row} flattened; null = every output in row-major [tokens, n] order
     */
    public static float[] simulate(Path path, float[] x, int tokens, WeightTensor w, float[] bias, int[] picks) {
        int n = w.rows();
        int k = w.cols();
        float[] hi = new float[x.length];
        float[] lo = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            hi[i] = bf16(x[i]);
            lo[i] = bf16(x[i] - hi[i]);
        }
        int count = picks == null ? tokens * n : picks.length / 2;
        float[] out = new float[count];
        float[] wRow = new float[k];
        int loaded = -1;
        for (int i = 0; i < count; i++) {
            int t = picks == null ? i / n : picks[2 * i];
            int row = picks == null ? i % n : picks[2 * i + 1];
            if (row != loaded) {
                w.read((long) row * k, wRow);
                loaded = row;
            }
            float b = bias == null ? 0f : bias[row];
            int off = t * k;
            out[i] = switch (path) {
                case null -> {
                    double sum = b;
                    for (int j = 0; j < k; j++) sum += (double) x[off + j] * wRow[j];
                    yield (float) sum;
                }
                case MATVEC -> matvecDot(x, off, wRow, k) + b;
                default -> tensorCoreDot(path, hi, lo, off, wRow, k) + b;
            };
        }
        return out;
    }

    private static float tensorCoreDot(Path path, float[] hi, float[] lo, int off, float[] w, int k) {
        boolean split = path == Path.PRECISE;
        int steps = (k + 15) / 16;
        if (path == Path.FAST_WITHOUT_LAST_STEP) steps--;
        float acc = 0f;
        for (int s = 0; s < steps; s++) {
            double hiSum = 0;
            double loSum = 0;
            int end = Math.min(k, s * 16 + 16);
            for (int j = s * 16; j < end; j++) {
                hiSum += (double) hi[off + j] * w[j];
                if (split) loSum += (double) lo[off + j] * w[j];
            }
            if (split) acc = (float) (acc + loSum);
            acc = (float) (acc + hiSum);
        }
        return acc;
    }

    private static float matvecDot(float[] x, int off, float[] w, int k) {
        float[] lanes = new float[32];
        int chunks = (k + 7) / 8;
        for (int c = 0; c < chunks; c++) {
            int lane = c % 32;
            for (int j = c * 8; j < Math.min(k, c * 8 + 8); j++) {
                lanes[lane] = Math.fma(x[off + j], w[j], lanes[lane]);
            }
        }
        for (int width = 16; width >= 1; width >>= 1) {
            for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
        }
        return lanes[0];
    }
}
