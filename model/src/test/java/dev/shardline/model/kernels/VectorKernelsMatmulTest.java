package dev.shardline.model.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorKernels#matmul} against {@link ReferenceKernels#matmul} on fresh random inputs (the seed is in
 * every assertion message): odd shapes that exercise every tail, and the real QwQ-32B projection shapes.
 *
 * <p>Bound: normalised error (max |a-b| / max |ref|) below 1e-5. The reference accumulates in double; the fast
 * kernels accumulate in float32 over up to K = 27648 terms in L lanes and then reduce the lanes, so the rounding
 * error grows like sqrt(K) * 2^-24 relative to the sum of |terms| (measured: at most 7e-7 at K = 27648;
 * ~1e-6 typical); bf16 weights are widened exactly, so there is no other error source. A wrong index, tail or
 * race gives errors of order 1.
 */
class VectorKernelsMatmulTest {
    private static final double BOUND = 1e-5;

    private final Arena arena = Arena.ofShared();
    private final ReferenceKernels reference = new ReferenceKernels();

    @AfterEach
    void closeArena() {
        arena.close();
    }

    @Test
    void oddShapesAllDtypesWithAndWithoutBias() {
        int[][] shapes = {{13, 67}, {1, 5}, {4, 16}, {37, 2049}, {21, 4100}, {130, 33}};
        int[] tokenCounts = {1, 3, 4, 5, 8, 16, 17};   // matvec, one-token and 2x4 batch tiles, packed
        for (int threads : new int[] {1, 2, 3}) {
            try (VectorKernels cpu = new VectorKernels(threads)) {
                for (DType dtype : TestTensors.PLAIN) {
                    for (int[] shape : shapes) {
                        for (int tokens : tokenCounts) {
                            for (boolean withBias : new boolean[] {false, true}) {
                                check(cpu, dtype, shape[0], shape[1], tokens, withBias, 0, shape[0]);
                            }
                        }
                    }
                }
            }
        }
    }

    /** For the two largest shapes the reference runs on a slice of rows (it costs ~2 ns per multiply-add). */
    @Test
    void qwqShapesOneToken() {
        try (VectorKernels cpu = new VectorKernels(2)) {
            check(cpu, DType.BF16, 5120, 5120, 1, false, 0, 5120);
            check(cpu, DType.BF16, 1024, 5120, 1, true, 0, 1024);
            check(cpu, DType.BF16, 27648, 5120, 1, false, 27648 - 1500, 27648);
            check(cpu, DType.BF16, 5120, 27648, 1, false, 0, 1500);
        }
    }

    /** Three tokens take the tiled path. */
    @Test
    void qwqShapesThreeTokens() {
        try (VectorKernels cpu = new VectorKernels(2)) {
            check(cpu, DType.BF16, 5120, 5120, 3, false, 0, 5120);
            check(cpu, DType.BF16, 1024, 5120, 3, true, 0, 1024);
            check(cpu, DType.BF16, 27648, 5120, 3, false, 27648 - 700, 27648);
            check(cpu, DType.BF16, 5120, 27648, 3, false, 0, 700);
        }
    }

    /**
     * Prefill ({@link PanelMatmul}): token counts that fill 1, 2, 3 and 4 vectors of the last panel chunk, partial
     * vectors, rows not a multiple of the row block, columns not a multiple of 2L, of the column block or of the
     * column pass.
     */
    @Test
    void prefillTokenCountsAndTails() {
        int[][] shapes = {{50, 96}, {97, 1030}, {7, 4161}, {5, 9000}};
        int[] tokenCounts = {17, 30, 32, 40, 64, 65, 100, 130};
        for (int threads : new int[] {1, 2}) {
            try (VectorKernels cpu = new VectorKernels(threads)) {
                for (DType dtype : TestTensors.PLAIN) {
                    for (int[] shape : shapes) {
                        for (int tokens : tokenCounts) {
                            check(cpu, dtype, shape[0], shape[1], tokens, tokens % 2 == 0, 0, shape[0]);
                        }
                    }
                }
            }
        }
    }

    /**
     * The benchmark backends that run the kernels the current ones replaced ({@code cpu-packed-prefill},
     * {@code cpu-first-quant}, {@code cpu-byte-quant}) compute the same products, by name through {@link Backends}.
     */
    @Test
    void theBenchmarkVariantsComputeTheSameProducts() {
        for (String name : new String[] {"cpu-packed-prefill", "cpu-first-quant", "cpu-byte-quant"}) {
            try (VectorKernels cpu = (VectorKernels) Backends.create(name, 2)) {
                assertEquals(name, cpu.name());
                for (DType dtype : new DType[] {DType.BF16, DType.Q8_0, DType.Q4_K, DType.Q6_K}) {
                    int k = dtype == DType.BF16 ? 1030 : 512;
                    for (int tokens : new int[] {1, 40}) {
                        check(cpu, dtype, 97, k, tokens, false, 0, 97);
                    }
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cpu-fast", 1));
        assertTrue(e.getMessage().contains("cpu-fast") && e.getMessage().contains("cpu-packed-prefill"), e.getMessage());
    }

    /** A 128-token prompt at the QwQ shapes, on slices of rows at both ends. */
    @Test
    void qwqShapesPrefill() {
        try (VectorKernels cpu = new VectorKernels(2)) {
            check(cpu, DType.BF16, 5120, 5120, 128, false, 5120 - 150, 5120);
            check(cpu, DType.BF16, 1024, 5120, 128, true, 0, 150);
            check(cpu, DType.BF16, 27648, 5120, 128, false, 27648 - 150, 27648);
            check(cpu, DType.BF16, 5120, 27648, 128, false, 0, 100);
        }
    }

    @Test
    void f32AndF16AtModelShapes() {
        try (VectorKernels cpu = new VectorKernels(2)) {
            check(cpu, DType.F32, 896, 4864, 1, true, 0, 896);
            check(cpu, DType.F16, 896, 4864, 1, true, 0, 896);
            check(cpu, DType.F32, 896, 4864, 3, false, 0, 896);
            check(cpu, DType.F16, 896, 4864, 3, false, 0, 896);
        }
    }

    @Test
    void rowsBeyondTokensAreUntouched() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        WeightTensor w = TestTensors.random(arena, "w", DType.BF16, rnd, 10, 40);
        float[] x = TestTensors.floats(rnd, 5 * 40, 1);
        float[] out = new float[5 * 10];
        Arrays.fill(out, 7f);
        try (VectorKernels cpu = new VectorKernels(2)) {
            cpu.matmul(x, 2, w, null, out);
        }
        for (int i = 20; i < out.length; i++) {
            assertEquals(7f, out[i], "seed " + seed + ": out[" + i + "] beyond tokens was written");
        }
    }

    @Test
    void rejectsTooSmallArrays() {
        SplittableRandom rnd = new SplittableRandom(1);
        WeightTensor w = TestTensors.random(arena, "w", DType.BF16, rnd, 10, 40);
        try (VectorKernels cpu = new VectorKernels(2)) {
            assertThrows(IllegalArgumentException.class, () -> cpu.matmul(new float[40], 2, w, null, new float[20]));
        }
    }

    @Test
    void repeatedCallsGiveIdenticalResults() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        WeightTensor w = TestTensors.random(arena, "w", DType.BF16, rnd, 896, 896);
        float[] x = TestTensors.floats(rnd, 896, 1);
        float[] first = new float[896];
        float[] again = new float[896];
        try (VectorKernels cpu = new VectorKernels(2)) {
            cpu.matmul(x, 1, w, null, first);
            for (int i = 0; i < 500; i++) {
                cpu.matmul(x, 1, w, null, again);
                assertArrayEquals(first, again, "seed " + seed + ": call " + i + " differs");
            }
        }
    }

    /** Runs both backends on random inputs and compares output rows [from, to) of every token. */
    private void check(VectorKernels cpu, DType dtype, int n, int k, int tokens, boolean withBias, int from,
                       int to) {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        WeightTensor w = TestTensors.random(arena, "w", dtype, rnd, n, k);
        WeightTensor bias = withBias ? TestTensors.random(arena, "b", dtype, rnd, n) : null;
        float[] x = TestTensors.floats(rnd, tokens * k, 1);
        float[] out = new float[tokens * n];
        cpu.matmul(x, tokens, w, bias, out);

        int width = to - from;
        WeightTensor slice = from == 0 && to == n ? w : TestTensors.rows(w, from, to);
        WeightTensor biasSlice = bias == null ? null : TestTensors.rows1d(bias, from, to);
        float[] expected = new float[tokens * width];
        reference.matmul(x, tokens, slice, biasSlice, expected);
        float[] actual = new float[tokens * width];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(out, t * n + from, actual, t * width, width);
        }
        double maxDiff = 0;
        for (int i = 0; i < actual.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
        double err = maxDiff / absScale(x, tokens, slice, biasSlice);
        assertTrue(err < BOUND, "seed " + seed + " " + dtype + " [" + n + ", " + k + "] tokens " + tokens
                + " bias " + withBias + " threads " + cpu.threads() + ": normalised error " + err);
    }

    /**
     * The largest sum |x||w| + |bias| of any output: the magnitude float rounding acts on. Normalising by the
     * largest |output| instead fails at random when a short dot product cancels to near zero (K = 5, one output).
     */
    private static double absScale(float[] x, int tokens, WeightTensor w, WeightTensor bias) {
        int n = w.rows();
        int k = w.cols();
        double scale = 1e-12;
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < n; r++) {
                double sum = bias == null ? 0 : Math.abs(bias.get(r));
                for (int i = 0; i < k; i++) sum += Math.abs(x[t * k + i] * w.get((long) r * k + i));
                scale = Math.max(scale, sum);
            }
        }
        return scale;
    }
}
