package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static dev.shardline.worker.cuda.GpuTestSupport.assertClose;
import static dev.shardline.worker.cuda.GpuTestSupport.bf16Matrix;
import static dev.shardline.worker.cuda.GpuTestSupport.download;
import static dev.shardline.worker.cuda.GpuTestSupport.f32Vector;
import static dev.shardline.worker.cuda.GpuTestSupport.host;
import static dev.shardline.worker.cuda.GpuTestSupport.randoms;
import static dev.shardline.worker.cuda.GpuTestSupport.upload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every non-attention op of {@link CudaKernels} against {@link ReferenceKernels} on fresh random inputs, at small
 * and QwQ shapes. Bounds are max|gpu - ref| / max|ref|: 0 for copies and the embedding (exact), 1e-6 for
 * elementwise ops, 1e-5 for RMSNorm and RoPE (rsqrtf, sin/cos products). Matmul bounds are derived per check from
 * the path's simulated error on the same inputs ({@link GemmNumerics}: MATVEC, PRECISE, FAST), and each check first
 * shows that its bound fails the path's broken variant (PRECISE without its low part, FAST without its last K step,
 * a matvec rounding x to bf16). Skipped, with the driver's reason, where no GPU is usable.
 */
class CudaKernelsTest extends GpuTest {
    private static final Kernels REF = new ReferenceKernels();
    private final Random random = new Random(42);
    @BeforeAll
    static void sayWhyWhenSkipped() {
        CudaAvailability probe = CudaRuntime.probe();
        if (!probe.usable()) System.out.println("CudaKernelsTest SKIPPED: no usable GPU: " + probe.message());
    }

    @Test
    void allocateIsZeroedAndWriteReadCopyMoveExactly() {
        assertEquals("cuda", cuda.name());
        try (var a = cuda.allocate(1000); var b = cuda.allocate(1000)) {
            assertArrayEquals(new float[1000], download(cuda, a, 1000));
            float[] values = randoms(random, 300, 1f);
            cuda.write(values, 100, a, 500, 200);
            cuda.copy(a, 500, b, 10, 200);
            float[] back = new float[200];
            cuda.read(b, 10, back, 0, 200);
            assertArrayEquals(java.util.Arrays.copyOfRange(values, 100, 300), back);
            assertThrows(IndexOutOfBoundsException.class, () -> cuda.read(b, 900, new float[200], 0, 200));
            a.close();
            a.close();                                              // idempotent
            assertThrows(IllegalStateException.class, () -> cuda.read(a, 0, new float[1], 0, 1));
        }
    }

    @Test
    void embedGathersBf16RowsExactly() {
        for (int[] shape : new int[][] {{1000, 64}, {8192, 5120}}) {
            WeightTensor table = bf16Matrix(random, "embed", shape[0], shape[1], 1f);
            int[] ids = {0, shape[0] - 1, 7, 7, 123};
            float[] expected = new float[ids.length * shape[1]];
            REF.embed(table, ids, host(expected));
            try (var out = cuda.allocate(expected.length)) {
                cuda.embed(table, ids, out);
                assertClose("embed " + shape[0] + "x" + shape[1], expected, download(cuda, out, expected.length), 0);
            }
            assertThrows(IllegalArgumentException.class, () -> cuda.embed(table, new int[] {shape[0]}, cuda.allocate(shape[1])));
        }
    }

    @Test
    void rmsNormSwigluAddRopeMatchTheReference() {
        for (int dim : new int[] {64, 896, 5120}) {
            int tokens = 3;
            float[] x = randoms(random, tokens * dim, 3f);
            WeightTensor w = f32Vector("norm", randoms(random, dim, 1f));
            float[] expected = new float[x.length];
            REF.rmsNorm(host(x), w, 1e-6f, tokens, host(expected));
            try (var dx = upload(cuda, x); var out = cuda.allocate(x.length)) {
                cuda.rmsNorm(dx, w, 1e-6f, tokens, out);
                assertClose("rmsNorm " + dim, expected, download(cuda, out, x.length), 1e-5);
            }
        }
        int n = 2 * 27648;
        float[] gate = randoms(random, n, 4f);
        float[] up = randoms(random, n, 2f);
        float[] expected = new float[n];
        REF.swiglu(host(gate), host(up), n, host(expected));
        float[] acc = randoms(random, n, 1f);
        float[] expectedAcc = acc.clone();
        REF.add(host(expectedAcc), host(up), n);
        try (var g = upload(cuda, gate); var u = upload(cuda, up); var a = upload(cuda, acc)) {
            cuda.swiglu(g, u, n, g);                                // in place, as the forward pass does
            cuda.add(a, u, n);
            assertClose("swiglu", expected, download(cuda, g, n), 1e-6);
            assertClose("add", expectedAcc, download(cuda, a, n), 1e-6);
        }
        for (int[] shape : new int[][] {{5, 40, 128}, {7, 4, 16}, {2, 14, 64}}) {
            int tokens = shape[0], heads = shape[1], headDim = shape[2];
            float[] x = randoms(random, tokens * heads * headDim, 2f);
            float[] cos = new float[tokens * headDim / 2];
            float[] sin = new float[cos.length];
            for (int i = 0; i < cos.length; i++) {
                double angle = random.nextDouble() * 100;
                cos[i] = (float) Math.cos(angle);
                sin[i] = (float) Math.sin(angle);
            }
            float[] rotated = x.clone();
            REF.rope(host(rotated), tokens, heads, headDim, host(cos), host(sin));
            try (var dx = upload(cuda, x); var c = upload(cuda, cos); var s = upload(cuda, sin)) {
                cuda.rope(dx, tokens, heads, headDim, c, s);
                assertClose("rope " + heads + "x" + headDim, rotated, download(cuda, dx, x.length), 1e-5);
            }
        }
    }

    @Test
    void decodeMatmulReadsWeightsOnceForUpToSixteenTokens() {
        for (int tokens : new int[] {1, 2, 3, 5, 8, 13, 16}) {
            matmul(tokens, 64, 64, true);
            matmul(tokens, 1024, 5120, true);                // k/v projection, R = 1
        }
        matmul(1, 27648, 5120, false);                       // gate/up, R = 4
        matmul(8, 27648, 5120, false);
        matmul(4, 5120, 27648, false);                       // down, R = 2
        matmul(3, 37, 100, true);                            // K % 8 != 0: the scalar path
    }

    @Test
    void prefillGemmMatchesTheReference() {
        for (int tokens : new int[] {17, 64, 100, 129}) {
            matmul(tokens, 1000, 128, true);                 // N not a multiple of 128
            matmul(tokens, 200, 80, false);                  // K % 32 == 16: a half slice
            matmul(tokens, 50, 100, true);                   // K % 16 != 0: matvec fallback
        }
        matmul(300, 896, 896, true);                         // small demo model's q projection
        matmulSampled(40, 27648, 5120, CudaKernels.GemmMode.PRECISE);   // QwQ gate/up
        matmulSampled(40, 5120, 27648, CudaKernels.GemmMode.PRECISE);   // QwQ down
        try (CudaKernels fast = new CudaKernels(CudaKernels.GemmMode.FAST)) {
            CudaKernels precise = cuda;
            cuda = fast;
            try {
                matmul(100, 1000, 512, true);
                matmulSampled(40, 27648, 5120, CudaKernels.GemmMode.FAST);
            } finally {
                cuda = precise;
            }
        }
    }

    @Test
    void nonBf16MatricesAreRefusedByName() {
        float[] values = new float[4 * 8];
        WeightTensor f32 = new WeightTensor("model.layers.0.mlp.up_proj.weight", DType.F32, new long[] {4, 8},
                MemorySegment.ofArray(values));
        try (var x = cuda.allocate(8); var out = cuda.allocate(4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cuda.matmul(x, 1, f32, null, out));
            assertTrue(e.getMessage().contains("up_proj") && e.getMessage().contains("F32"), e.getMessage());
        }
    }

    /** The path CudaKernels.matmul takes for this shape (gemm.cu falls back to the matvec when K % 16 != 0). */
    private GemmNumerics.Path path(int tokens, int k) {
        if (tokens <= CudaKernels.MATVEC_MAX_TOKENS || k % 16 != 0) return GemmNumerics.Path.MATVEC;
        return cuda.gemmMode() == CudaKernels.GemmMode.PRECISE ? GemmNumerics.Path.PRECISE : GemmNumerics.Path.FAST;
    }

    /**
     * The bound for these inputs: the path's simulated error on up to 2000 sampled outputs, times its margin; fails
     * unless the path's broken variant, simulated on the same outputs, exceeds it.
     */
    private double derivedBound(GemmNumerics.Path path, float[] x, int tokens, WeightTensor w, float[] bias) {
        int samples = Math.min(2000, tokens * w.rows());
        int[] picks = new int[2 * samples];
        for (int i = 0; i < samples; i++) {
            picks[2 * i] = random.nextInt(tokens);
            picks[2 * i + 1] = random.nextInt(w.rows());
        }
        float[] ref = GemmNumerics.simulate(null, x, tokens, w, bias, picks);
        double simulated = GemmNumerics.error(ref, GemmNumerics.simulate(path, x, tokens, w, bias, picks));
        double bound = GemmNumerics.bound(path, simulated);
        GemmNumerics.Path broken = switch (path) {
            case PRECISE -> GemmNumerics.Path.PRECISE_WITHOUT_LO;
            case FAST -> GemmNumerics.Path.FAST_WITHOUT_LAST_STEP;
            default -> GemmNumerics.Path.FAST;                     // a matvec that rounds x to bf16
        };
        double brokenError = GemmNumerics.error(ref, GemmNumerics.simulate(broken, x, tokens, w, bias, picks));
        assertTrue(brokenError > bound, path + " bound " + bound + " would let " + broken + " (" + brokenError + ") pass");
        return bound;
    }

    private void matmul(int tokens, int n, int k, boolean withBias) {
        WeightTensor w = bf16Matrix(random, "w", n, k, 0.05f);
        float[] biasValues = withBias ? randoms(random, n, 0.1f) : null;
        WeightTensor bias = withBias ? f32Vector("b", biasValues) : null;
        float[] x = randoms(random, tokens * k, 1f);
        float[] expected = new float[tokens * n];
        REF.matmul(host(x), tokens, w, bias, host(expected));
        double bound = derivedBound(path(tokens, k), x, tokens, w, biasValues);
        try (var dx = upload(cuda, x); var out = cuda.allocate(expected.length)) {
            cuda.matmul(dx, tokens, w, bias, out);
            assertClose("matmul [" + n + ", " + k + "] x " + tokens + " " + cuda.gemmMode(), expected,
                    download(cuda, out, expected.length), bound);
        }
    }

    /** QwQ-sized GEMM checked on 4000 random outputs (the full reference would take minutes). */
    private void matmulSampled(int tokens, int n, int k, CudaKernels.GemmMode mode) {
        WeightTensor w = bf16Matrix(random, "w", n, k, 0.02f);
        float[] x = randoms(random, tokens * k, 1f);
        double bound = derivedBound(path(tokens, k), x, tokens, w, null);
        float[] got = new float[tokens * n];
        try (var dx = upload(cuda, x); var out = cuda.allocate(got.length)) {
            cuda.matmul(dx, tokens, w, null, out);
            cuda.read(out, 0, got, 0, got.length);
        }
        float[] expected = new float[4000];
        float[] sampled = new float[4000];
        for (int i = 0; i < expected.length; i++) {
            int t = random.nextInt(tokens), row = random.nextInt(n);
            double sum = 0;
            for (int j = 0; j < k; j++) sum += (double) x[t * k + j] * w.get((long) row * k + j);
            expected[i] = (float) sum;
            sampled[i] = got[t * n + row];
        }
        assertClose("matmul [" + n + ", " + k + "] x " + tokens + " " + mode + " (sampled)", expected, sampled, bound);
    }
}
