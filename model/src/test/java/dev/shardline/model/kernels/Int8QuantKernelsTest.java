package dev.shardline.model.kernels;

import dev.shardline.model.host.NativeQuantKernels;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Backend {@code cpu-int8}: one-token Q4_K / Q6_K / Q8_0 products on {@link NativeQuantKernels}, which quantize the
 * activations to int8 (per 256 columns for Q4_K and Q6_K, per 32 for Q8_0: d = max|x| / 127, q = rint(x / d)) and
 * multiply-add integers. Two checks, on fresh random blocks, odd row counts and the real QwQ-32B shapes:
 * <ul>
 *   <li>Against the reference (scalar dequantization, double-accumulated product) fed the same int8-rounded
 *       activations: only float rounding remains, so the bound is the f32 kernels' 1e-5 (max |diff| over the
 *       largest sum |x||w| of an output), and one wrong quant, a swapped sub-block scale or a wrong block scale
 *       fails it by far.</li>
 *   <li>Against the reference on the activations as they are: the rounding of the activations, measured, between
 *       1e-5 (over 8 rows or more, so the native path really ran) and 1e-2 (what int8 activations cost: 4e-4 to 2e-3 on QwQ's rows,
 *       up to 5e-3 on a row of one 256-block whose scale an outlier sets; llama.cpp's choice too).</li>
 * </ul>
 * Skipped, with the reason, where the library is not built or the CPU lacks AVX-512 VBMI / VNNI.
 */
class Int8QuantKernelsTest {
    private static final double BOUND = 1e-5;
    private static final double ROUNDING_BOUND = 1e-2;
    private static final DType[] QUANT = {DType.Q4_K, DType.Q6_K, DType.Q8_0};
    private final Arena arena = Arena.ofShared();
    private final ReferenceKernels reference = new ReferenceKernels();

    @BeforeEach
    void needsTheLibrary() {
        assumeTrue(NativeQuantKernels.available(), () -> "backend cpu-int8 cannot run here: "
                + NativeQuantKernels.unavailableReason().orElse(""));
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    @Test
    void smallShapesOddRowsWithAndWithoutBias() {
        int[][] shapes = {{13, 256}, {1, 512}, {37, 768}, {130, 1024}, {5, 4096}};
        for (int threads : new int[] {1, 2}) {
            try (VectorKernels cpu = int8(threads)) {
                for (DType dtype : QUANT) {
                    for (int[] shape : shapes) {
                        check(cpu, random(dtype, shape[0], shape[1]), shape[0] % 2 == 1, 0, shape[0]);
                    }
                }
                check(cpu, random(DType.Q8_0, 9, 896), true, 0, 9);   // Qwen2.5-0.5B's hidden size: 28 blocks of 32
            }
        }
    }

    /** QwQ-32B's projections; the reference runs on a slice of rows. */
    @Test
    void qwqShapes() {
        try (VectorKernels cpu = int8(2)) {
            for (DType dtype : QUANT) {
                check(cpu, random(dtype, 5120, 5120), true, 0, 48);          // q_proj / o_proj
                check(cpu, random(dtype, 1024, 5120), true, 1000, 1024);     // k/v_proj
                check(cpu, random(dtype, 27648, 5120), false, 27600, 27648); // gate/up
                check(cpu, random(dtype, 5120, 27648), false, 5100, 5120);   // down
            }
        }
    }

    /** Prefill and a few tokens keep the f32 kernels: there cpu-int8 equals cpu bit for bit. */
    @Test
    void severalTokensRunTheF32Kernels() {
        try (VectorKernels int8 = int8(2); VectorKernels cpu = new VectorKernels(2)) {
            for (DType dtype : QUANT) {
                WeightTensor w = random(dtype, 37, 1024);
                for (int tokens : new int[] {2, 5, 17}) {
                    float[] x = TestTensors.floats(new SplittableRandom(tokens), tokens * 1024, 1);
                    float[] a = new float[tokens * 37];
                    float[] b = new float[tokens * 37];
                    int8.matmul(x, tokens, w, null, a);
                    cpu.matmul(x, tokens, w, null, b);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(Float.floatToIntBits(b[i]), Float.floatToIntBits(a[i]), dtype + " tokens " + tokens + " at " + i);
                    }
                }
            }
        }
    }

    /** The bound separates right from wrong: one quant, one sub-block scale or one block scale changed fails it. */
    @Test
    void wrongWeightsAreCaught() {
        try (VectorKernels cpu = int8(2)) {
            for (DType dtype : QUANT) {
                for (String what : new String[] {"quant", "scale"}) {
                    WeightTensor w = random(dtype, 16, 512);
                    MemorySegment copy = arena.allocate(w.byteSize(), 64);
                    copy.copyFrom(w.data());
                    long at = switch (dtype) {   // row 0, block 1
                        case Q8_0 -> what.equals("quant") ? 34 + 2 + 5 : 35;           // a quant; the block's f16 d (high byte)
                        case Q4_K -> what.equals("quant") ? 144 + 16 + 9 : 144 + 4;    // a nibble pair; sub-block 0's scale
                        default -> what.equals("quant") ? 210 + 9 : 210 + 192 + 3;     // Q6_K: ql; a group scale
                    };
                    byte old = copy.get(ValueLayout.JAVA_BYTE, at);
                    byte changed = switch (dtype) {
                        case Q8_0 -> what.equals("quant") ? (byte) (old ^ 0x40) : (byte) (old ^ 0x04);   // d: one exponent bit
                        case Q4_K -> what.equals("quant") ? (byte) (old ^ 0x08) : (byte) (old ^ 0x10);
                        default -> what.equals("quant") ? (byte) (old ^ 0x08) : (byte) (old >= 0 ? old - 100 : old + 100);
                    };
                    copy.set(ValueLayout.JAVA_BYTE, at, changed);
                    WeightTensor broken = new WeightTensor("broken", dtype, w.shape(), copy);
                    float[] x = TestTensors.floats(new SplittableRandom(7), 512, 1);
                    for (int i = 32; i < 64; i++) x[i] = 4f;     // the changed weights meet large activations
                    for (int i = 256; i < 320; i++) x[i] = 4f;
                    float[] xq = int8Rounded(dtype, x, 1, 512);
                    float[] expected = new float[16];
                    float[] actual = new float[16];
                    reference.matmul(xq, 1, w, null, expected);
                    cpu.matmul(x, 1, broken, null, actual);
                    double err = QuantKernelsTest.normalisedError(actual, expected, xq, 1, w, null, 0);
                    assertTrue(err > 10 * BOUND, dtype + ": a wrong " + what + " must fail the bound, error " + err);
                }
            }
        }
    }

    /** What the kernels do not take is said before any native code runs, naming the problem. */
    @Test
    void badCallsAreRefusedWithAClearError() {
        assertTrue(NativeQuantKernels.handles(DType.Q8_0, 896));
        assertTrue(!NativeQuantKernels.handles(DType.Q4_K, 896), "Q4_K needs k % 256 == 0");
        assertTrue(!NativeQuantKernels.handles(DType.BF16, 256), "bf16 is not a block type");
        MemorySegment x = arena.allocate(4L * 512, 64);
        MemorySegment act = arena.allocate(NativeQuantKernels.activationBytes(DType.Q4_K, 512) + 64, 64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeQuantKernels.prepare(DType.Q4_K, x, 512, act.asSlice(8)));
        assertTrue(e.getMessage().contains("64-byte aligned"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NativeQuantKernels.prepare(DType.Q4_K, x, 1024, act));
        assertTrue(e.getMessage().contains("too small"), e.getMessage());
        WeightTensor w = random(DType.Q4_K, 4, 512);
        NativeQuantKernels.prepare(DType.Q4_K, x, 512, act);
        MemorySegment out = arena.allocate(4L * 4, 64);
        e = assertThrows(IllegalArgumentException.class, () -> NativeQuantKernels.rows(DType.Q4_K, w.data(),
                DType.Q4_K.bytesFor(512), 512, act, 0, 5, out));
        assertTrue(e.getMessage().contains("rows [0, 5)"), e.getMessage());
    }

    private static VectorKernels int8(int threads) {
        return new VectorKernels(threads, VectorKernels.Variant.INT8_PRODUCTS);
    }

    private WeightTensor random(DType dtype, int n, int k) {
        return TestTensors.random(arena, "w", dtype, new SplittableRandom(n * 31L + k + dtype.ordinal()), n, k);
    }

    private void check(VectorKernels cpu, WeightTensor w, boolean withBias, int from, int to) {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = w.rows();
        int k = w.cols();
        assertTrue(NativeQuantKernels.handles(w.dtype(), k), w.dtype() + " with " + k + " columns");
        WeightTensor bias = withBias ? TestTensors.random(arena, "b", DType.F32, rnd, n) : null;
        float[] x = TestTensors.floats(rnd, k, 1);
        x[rnd.nextInt(k)] = 6f;   // an outlier, as real activations have: it sets its block's int8 scale
        float[] out = new float[n];
        cpu.matmul(x, 1, w, bias, out);
        int width = to - from;
        WeightTensor slice = from == 0 && to == n ? w : TestTensors.rows(w, from, to);
        WeightTensor biasSlice = bias == null ? null : TestTensors.rows1d(bias, from, to);
        float[] actual = new float[width];
        System.arraycopy(out, from, actual, 0, width);
        String what = "seed " + seed + " " + w.dtype() + " [" + n + ", " + k + "] rows [" + from + ", " + to
                + ") bias " + withBias + " threads " + cpu.threads();

        float[] xq = int8Rounded(w.dtype(), x, 1, k);
        float[] expected = new float[width];
        reference.matmul(xq, 1, slice, biasSlice, expected);
        double err = QuantKernelsTest.normalisedError(actual, expected, xq, 1, slice, biasSlice, 0);
        assertTrue(err < BOUND, what + ": normalised error against int8-rounded activations " + err);

        float[] exact = new float[width];
        reference.matmul(x, 1, slice, biasSlice, exact);
        double rounding = QuantKernelsTest.normalisedError(actual, exact, x, 1, slice, biasSlice, 0);
        assertTrue(rounding < ROUNDING_BOUND, what + ": error of int8 activations " + rounding + " (expected below "
                + ROUNDING_BOUND + ")");
        // over 8 or more rows the largest rounding error is far above the f32 kernels' (one row may cancel out)
        assertTrue(width < 8 || rounding > BOUND, what + ": error of int8 activations " + rounding
                + " (expected above " + BOUND + ", where the f32 kernels are: did the native kernels run?)");
    }

    /** The activations as the native kernels see them: int8 per block of 256 (Q4_K, Q6_K) or 32 (Q8_0), times d. */
    static float[] int8Rounded(DType t, float[] x, int tokens, int k) {
        int block = t == DType.Q8_0 ? 32 : 256;
        float[] r = new float[tokens * k];
        for (int b = 0; b < tokens * k / block; b++) {
            float amax = 0;
            for (int i = 0; i < block; i++) amax = Math.max(amax, Math.abs(x[b * block + i]));
            float d = amax / 127;
            float id = d != 0 ? 1 / d : 0;
            for (int i = 0; i < block; i++) r[b * block + i] = (float) Math.rint(x[b * block + i] * id) * d;
        }
        return r;
    }
}
