package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.HostActivations;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Random inputs, host/device transfers and the normalised error check shared by the GPU tests. */
final class GpuTestSupport {
    private GpuTestSupport() {
    }

    /** Skips the calling test, with the driver's reason, where no GPU is usable. */
    static void requireGpu() {
        CudaAvailability probe = CudaRuntime.probe();
        assumeTrue(probe.usable(), "no usable GPU: " + probe.message());
    }

    static float[] randoms(Random random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian() * scale;
        return v;
    }

    /** A bf16 matrix [rows, cols] of N(0, scale) values in native memory (freed with the shared arena). */
    static WeightTensor bf16Matrix(Random random, String name, int rows, int cols, float scale) {
        MemorySegment w = Arena.ofAuto().allocate(2L * rows * cols, 16);
        for (long i = 0; i < (long) rows * cols; i++) {
            w.setAtIndex(ValueLayout.JAVA_SHORT, i, WeightTensor.floatToBf16((float) random.nextGaussian() * scale));
        }
        return new WeightTensor(name, DType.BF16, new long[] {rows, cols}, w);
    }

    static WeightTensor f32Vector(String name, float[] values) {
        return new WeightTensor(name, DType.F32, new long[] {values.length}, MemorySegment.ofArray(values.clone()));
    }

    static DeviceActivations upload(CudaKernels cuda, float[] values) {
        DeviceActivations a = cuda.allocate(values.length);
        cuda.write(values, 0, a, 0, values.length);
        return a;
    }

    static float[] download(Kernels kernels, Activations a, int count) {
        float[] out = new float[count];
        kernels.read(a, 0, out, 0, count);
        return out;
    }

    static HostActivations host(float[] values) {
        return new HostActivations(values);
    }

    /** max |got - expected| / max |expected| <= bound; prints the error either way. */
    static void assertClose(String op, float[] expected, float[] got, double bound) {
        assertTrue(expected.length == got.length, op + ": lengths " + expected.length + " vs " + got.length);
        double diff = 0;
        double scale = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) got[i] - expected[i]);
            if (!(d <= diff)) {             // NaN counts as the worst
                diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                worst = i;
            }
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        double error = diff / Math.max(scale, 1e-30);
        System.out.printf("%s: normalised max error %.2e (bound %.0e)%n", op, error, bound);
        assertTrue(error <= bound, op + ": normalised max error " + error + " > " + bound + " at " + worst
                + " (expected " + expected[worst] + ", got " + got[worst] + ")");
    }
}
