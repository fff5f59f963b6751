package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every CUDA kernel against {@link ReferenceKernels} on fresh random inputs of QwQ shapes, with normalised error
 * bounds {@code ||gpu - ref||_2 / ||ref||_2}: f32 elementwise ops 1e-6 (RMSNorm 1e-5: rsqrtf), bf16 matvec 1e-3.
 * Skipped, with the reason printed, where no GPU is usable.
 */
@Tag("gpu")
class CudaGpuKernelsTest {
    private static final ReferenceKernels REF = new ReferenceKernels();
    private final Random random = new Random(42);

    @BeforeAll
    static void sayWhyWhenSkipped() {
        CudaAvailability probe = CudaRuntime.probe();
        if (!probe.usable()) {
            System.out.println("CudaGpuKernelsTest SKIPPED (all tests): no usable GPU: " + probe.message());
        }
    }

    @BeforeEach
    void requireGpu() {
        CudaAvailability probe = CudaRuntime.probe();
        assumeTrue(probe.usable(), "no usable GPU: " + probe.message());
    }

    @Test
    void rmsNormMatchesTheReference() {
        int tokens = 3;
        int dim = 5120;
        float[] x = randoms(tokens * dim, 3f);
        float[] w = randoms(dim, 1f);
        float[] expected = new float[x.length];
        REF.rmsNorm(x, f32Tensor("norm", w), 1e-6f, tokens, expected);
        float[] got = new float[x.length];
        try (var dx = DeviceBuffer.ofFloats(x); var dw = DeviceBuffer.ofFloats(w);
             var out = DeviceBuffer.allocate(4L * x.length)) {
            CudaException.check("rmsNorm", CudaNative.rmsNorm(dx.ptr(), dw.ptr(), 1e-6f, tokens, dim, out.ptr()));
            out.download(got);
        }
        assertClose("rmsNorm", expected, got, 1e-5);
    }

    @Test
    void swigluAndAddMatchTheReference() {
        int n = 2 * 27648;
        float[] gate = randoms(n, 4f);
        float[] up = randoms(n, 2f);
        float[] expected = new float[n];
        REF.swiglu(gate, up, n, expected);
        float[] acc = randoms(n, 1f);
        float[] expectedAcc = acc.clone();
        REF.add(expectedAcc, up, n);
        float[] got = new float[n];
        float[] gotAcc = new float[n];
        try (var g = DeviceBuffer.ofFloats(gate); var u = DeviceBuffer.ofFloats(up); var a = DeviceBuffer.ofFloats(acc);
             var out = DeviceBuffer.allocate(4L * n)) {
            CudaException.check("swiglu", CudaNative.swiglu(g.ptr(), u.ptr(), n, out.ptr()));
            CudaException.check("add", CudaNative.add(a.ptr(), u.ptr(), n));
            out.download(got);
            a.download(gotAcc);
        }
        assertClose("swiglu", expected, got, 1e-6);
        assertClose("add", expectedAcc, gotAcc, 1e-7);
    }

    @Test
    void ropeMatchesTheReference() {
        int tokens = 5;
        int heads = 40;
        int headDim = 128;
        float[] x = randoms(tokens * heads * headDim, 2f);
        float[] cos = new float[tokens * headDim / 2];
        float[] sin = new float[cos.length];
        for (int i = 0; i < cos.length; i++) {
            double angle = random.nextDouble() * 100;
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
        }
        float[] expected = x.clone();
        REF.rope(expected, tokens, heads, headDim, cos, sin);
        float[] got = new float[x.length];
        try (var dx = DeviceBuffer.ofFloats(x); var c = DeviceBuffer.ofFloats(cos); var s = DeviceBuffer.ofFloats(sin)) {
            CudaException.check("rope", CudaNative.rope(dx.ptr(), tokens, heads, headDim, c.ptr(), s.ptr()));
            dx.download(got);
        }
        assertClose("rope", expected, got, 1e-6);
    }

    @Test
    void matvecBf16MatchesTheReferenceAtQwqShapes() {
        matvec(27648, 5120, false);   // gate/up projection
        matvec(5120, 27648, false);   // down projection
        matvec(1024, 5120, true);     // k/v projection with its bias
        matvec(37, 100, true);        // K not a multiple of 8: the scalar path
    }

    private void matvec(int n, int k, boolean withBias) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * n * k, 16);
            for (long i = 0; i < (long) n * k; i++) {
                w.setAtIndex(ValueLayout.JAVA_SHORT, i, WeightTensor.floatToBf16((float) random.nextGaussian() * 0.02f));
            }
            WeightTensor weight = new WeightTensor("w", DType.BF16, new long[] {n, k}, w);
            float[] bias = withBias ? randoms(n, 0.1f) : null;
            float[] x = randoms(k, 1f);
            float[] expected = new float[n];
            REF.matmul(x, 1, weight, bias == null ? null : f32Tensor("b", bias), expected);
            float[] got = new float[n];
            try (var dw = DeviceBuffer.allocate(w.byteSize()); var dx = DeviceBuffer.ofFloats(x);
                 var db = bias == null ? null : DeviceBuffer.ofFloats(bias); var out = DeviceBuffer.allocate(4L * n)) {
                dw.upload(w);
                CudaException.check("matvecBf16", CudaNative.matvecBf16(dx.ptr(), 1, dw.ptr(),
                        db == null ? 0 : db.ptr(), n, k, out.ptr()));
                out.download(got);
            }
            assertClose("matvecBf16 [" + n + ", " + k + "]", expected, got, 1e-3);
        }
    }

    private float[] randoms(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }

    private static WeightTensor f32Tensor(String name, float[] values) {
        return new WeightTensor(name, DType.F32, new long[] {values.length}, MemorySegment.ofArray(values));
    }

    static void assertClose(String op, float[] expected, float[] got, double bound) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += Math.pow(got[i] - expected[i], 2);
            norm += Math.pow(expected[i], 2);
        }
        double error = Math.sqrt(diff / Math.max(norm, 1e-30));
        System.out.printf("%s: normalised error %.2e (bound %.0e)%n", op, error, bound);
        assertTrue(error <= bound, op + ": normalised error " + error + " > " + bound);
    }
}
