package dev.shardline.model.kernels;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend's Q8_0 / Q4_K / Q6_K products (read in place: one token, a few tokens, and the tiled prefill)
 * against the reference (scalar dequantization, then the plain double-accumulated product) on fresh random blocks,
 * odd row counts and the real QwQ-32B shapes. Error is max |cpu - ref| normalised by the largest sum |x||w| of an
 * output; f32 accumulation of up to 27648 terms stays below 1e-5, and a single wrong quant in one block of 2M
 * weights (the broken variant) lands far above it. With 16 float lanes the one-token Q4_K / Q6_K products run
 * {@link QuantLaneKernels} (activations permuted and scaled by powers of two); swapping two sub-block scales,
 * or a 1e-3 error in Q4_K's minimums or 1e-4 in Q6_K's activations, fails this bound.
 */
class QuantKernelsTest {
    private static final double BOUND = 1e-5;
    private static final DType[] QUANT = {DType.Q8_0, DType.Q4_K, DType.Q6_K};
    private final Arena arena = Arena.ofShared();
    private final ReferenceKernels reference = new ReferenceKernels();

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** Both one-token kernel sets: the lane-order ones (default with 16 float lanes) and the byte-widening ones. */
    @Test
    void smallShapesEveryPathWithAndWithoutBias() {
        int[][] shapes = {{13, 256}, {1, 512}, {37, 768}, {130, 1024}};
        int[] tokenCounts = {1, 2, 3, 5, 6, 8, 17};   // matvec, few-token rows, tiled, packed prefill
        for (int threads : new int[] {1, 2}) {
            for (VectorKernels.Variant variant : new VectorKernels.Variant[] {VectorKernels.Variant.CURRENT,
                    VectorKernels.Variant.BYTE_QUANT_KERNELS}) {
              try (VectorKernels cpu = new VectorKernels(threads, variant)) {
                for (DType dtype : QUANT) {
                    for (int[] shape : shapes) {
                        for (int tokens : tokenCounts) {
                            check(cpu, random(dtype, shape[0], shape[1]), tokens, shape[0] % 2 == 1, 0, shape[0]);
                        }
                    }
                }
              }
            }
        }
    }

    /** QwQ-32B's projections; the reference runs on a slice of rows (it costs ~10 ns per multiply-add here). */
    @Test
    void qwqShapes() {
        try (VectorKernels cpu = new VectorKernels(2)) {
            for (DType dtype : QUANT) {
                check(cpu, random(dtype, 5120, 5120), 1, true, 0, 48);              // q_proj / o_proj
                check(cpu, random(dtype, 1024, 5120), 3, true, 1000, 1024);          // k/v_proj, 3 tokens
                check(cpu, random(dtype, 27648, 5120), 1, false, 27600, 27648);      // gate/up
                check(cpu, random(dtype, 5120, 27648), 1, false, 5100, 5120);        // down
                check(cpu, random(dtype, 5120, 27648), 7, false, 0, 8);              // down, prefill tile
            }
        }
    }

    @Test
    void laneActivationsAreCacheLineAligned() {
        // the lane kernels load 16 64-byte vectors of activations per block; misaligned, each splits across two lines
        for (int k : new int[] {256, 5120, 27648}) {
            MemorySegment lanes = QuantLaneKernels.allocateLanes(k);
            assertTrue(lanes.address() % 64 == 0, "k " + k + ": address " + lanes.address());
            assertTrue(lanes.byteSize() >= 4L * k, "k " + k + ": " + lanes.byteSize() + " bytes");
        }
    }

    @Test
    void embeddingRowsDequantizeExactly() {
        try (VectorKernels cpu = new VectorKernels(2)) {
            for (DType dtype : QUANT) {
                WeightTensor table = random(dtype, 50, 512);
                int[] ids = {3, 0, 49, 3, 17};
                float[] expected = new float[ids.length * 512];
                float[] actual = new float[ids.length * 512];
                reference.embed(table, ids, expected);
                cpu.embed(table, ids, actual);
                assertArrayEquals(expected, actual, dtype + " embedding");
            }
        }
    }

    /** The bound separates right from wrong: one quant changed in one block gives an error far above it. */
    @Test
    void oneWrongQuantIsCaught() {
        for (VectorKernels.Variant variant : new VectorKernels.Variant[] {VectorKernels.Variant.CURRENT,
                VectorKernels.Variant.BYTE_QUANT_KERNELS}) {
          try (VectorKernels cpu = new VectorKernels(2, variant)) {
            for (DType dtype : QUANT) {
                WeightTensor w = random(dtype, 64, 5120);
                if (dtype == DType.Q6_K) {
                    w.data().set(ValueLayout.JAVA_BYTE, 192, (byte) 100);   // a typical scale for the changed group
                }
                MemorySegment copy = arena.allocate(w.byteSize(), 64);
                copy.copyFrom(w.data());
                long quantByte = switch (dtype) {
                    case Q8_0 -> 2 + 34 * 7;     // row 0, block 7, first quant
                    case Q4_K -> 16 + 144 * 3;   // row 0, block 3, first nibble pair
                    default -> 5;                // Q6_K row 0, block 0, ql
                };
                int element = switch (dtype) {   // the weight that quant byte holds (low bits)
                    case Q8_0 -> 224;
                    case Q4_K -> 768;
                    default -> 5;
                };
                int flip = dtype == DType.Q8_0 ? 0x40 : 0x08;
                copy.set(ValueLayout.JAVA_BYTE, quantByte, (byte) (copy.get(ValueLayout.JAVA_BYTE, quantByte) ^ flip));
                WeightTensor broken = new WeightTensor("broken", dtype, w.shape(), copy);
                float[] x = TestTensors.floats(new SplittableRandom(7), 5120, 1);
                x[element] = 8f;   // the changed weight meets a large activation
                float[] expected = new float[64];
                float[] actual = new float[64];
                reference.matmul(x, 1, w, null, expected);
                cpu.matmul(x, 1, broken, null, actual);
                double err = normalisedError(actual, expected, x, 1, w, null, 0);
                assertTrue(err > 10 * BOUND, cpu.name() + " " + dtype + ": a wrong quant must fail the bound, error " + err);
            }
          }
        }
    }

    private WeightTensor random(DType dtype, int n, int k) {
        return TestTensors.random(arena, "w", dtype, new SplittableRandom(n * 31L + k + dtype.ordinal()), n, k);
    }

    private void check(VectorKernels cpu, WeightTensor w, int tokens, boolean withBias, int from, int to) {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = w.rows();
        int k = w.cols();
        WeightTensor bias = withBias ? TestTensors.random(arena, "b", DType.F32, rnd, n) : null;
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
        double err = normalisedError(actual, expected, x, tokens, slice, biasSlice, 0);
        assertTrue(err < BOUND, "seed " + seed + " " + w.dtype() + " [" + n + ", " + k + "] rows [" + from + ", " + to
                + ") tokens " + tokens + " bias " + withBias + " threads " + cpu.threads() + ": normalised error " + err);
    }

    static double normalisedError(float[] actual, float[] expected, float[] x, int tokens, WeightTensor w,
                                          WeightTensor bias, int unused) {
        int n = w.rows();
        int k = w.cols();
        float[] row = new float[k];
        double scale = 1e-12;
        for (int r = 0; r < n; r++) {
            w.read((long) r * k, row);
            for (int t = 0; t < tokens; t++) {
                double sum = bias == null ? 0 : Math.abs(bias.get(r));
                for (int i = 0; i < k; i++) sum += Math.abs(x[t * k + i] * row[i]);
                scale = Math.max(scale, sum);
            }
        }
        double maxDiff = 0;
        for (int i = 0; i < actual.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
        return maxDiff / scale;
    }
}
