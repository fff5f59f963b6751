package dev.shardline.worker.cuda;

import dev.shardline.model.tensor.WeightTensor;

/**
 * What the CUDA matmul paths compute, simulated on the CPU bit for bit where it matters, so a test's error bound is
 * derived from the path's expected error on the very inputs it checks instead of being guessed.
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

    /** out[t, n] for the given rows of w (all when rows is null), as the path computes it. */
    public static float dot(Path path, float[] x, int xOffset, WeightTensor w, int row, float bias) {
        int k = w.cols();
        long base = (long) row * k;
        return switch (path) {
            case MATVEC -> matvecDot(x, xOffset, w, base, k) + bias;
            default -> tensorCoreDot(path, x, xOffset, w, base, k) + bias;
        };
    }

    private static float tensorCoreDot(Path path, float[] x, int xOffset, WeightTensor w, long base, int k) {
        boolean split = path == Path.PRECISE;
        int steps = (k + 15) / 16;
        if (path == Path.FAST_WITHOUT_LAST_STEP) steps--;
        float acc = 0f;
        for (int s = 0; s < steps; s++) {
            double hiSum = 0;
            double loSum = 0;
            for (int j = s * 16; j < Math.min(k, s * 16 + 16); j++) {
                float xv = x[xOffset + j];
                float hi = bf16(xv);
                double wv = w.get(base + j);
                hiSum += (double) hi * wv;
                if (split) loSum += (double) bf16(xv - hi) * wv;
            }
            if (split) acc = (float) (acc + loSum);   // small part first, as gemm.cu issues it
            acc = (float) (acc + hiSum);
        }
        return acc;
    }

    private static float matvecDot(float[] x, int xOffset, WeightTensor w, long base, int k) {
        float[] lanes = new float[32];
        int chunks = (k + 7) / 8;
        for (int c = 0; c < chunks; c++) {
            int lane = c % 32;
            for (int j = c * 8; j < Math.min(k, c * 8 + 8); j++) {
                lanes[lane] = Math.fma(x[xOffset + j], w.get(base + j), lanes[lane]);
            }
        }
        for (int width = 16; width >= 1; width >>= 1) {
            for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
        }
        return lanes[0];
    }

    private static float bf16(float v) {
        return WeightTensor.bf16ToFloat(WeightTensor.floatToBf16(v));
    }

    /** The reference's value (ReferenceKernels: a double sum rounded to float once). */
    public static float reference(float[] x, int xOffset, WeightTensor w, int row, float bias) {
        int k = w.cols();
        long base = (long) row * k;
        double sum = bias;
        for (int j = 0; j < k; j++) sum += (double) x[xOffset + j] * w.get(base + j);
        return (float) sum;
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
     * Simulated outputs of {@code path} at the sampled (token, row) pairs of {@code x [tokens, k]} times {@code w}.
     *
     * @param picks pairs {@code token, row} flattened; null = every output in row-major [tokens, n] order
     */
    public static float[] simulate(Path path, float[] x, int tokens, WeightTensor w, float[] bias, int[] picks) {
        int n = w.rows();
        int k = w.cols();
        int count = picks == null ? tokens * n : picks.length / 2;
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            int t = picks == null ? i / n : picks[2 * i];
            int row = picks == null ? i % n : picks[2 * i + 1];
            float b = bias == null ? 0f : bias[row];
            out[i] = path == null ? reference(x, t * k, w, row, b) : dot(path, x, t * k, w, row, b);
        }
        return out;
    }
}
