package dev.shardline.worker.cuda;

import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.worker.cuda.GemmNumerics.Path;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU side of the GPU matmul bounds (runs everywhere): on the shapes and value ranges {@link CudaKernelsTest}
 * uses, each path's simulated error is what its numerics predict, and the bound derived from it fails the broken
 * variant of the path: PRECISE without its low part, FAST without its last K step, a matvec that rounds x to bf16.
 */
class GemmNumericsTest {
    private final Random random = new Random(7);

    private record Errors(double precise, double fast, double matvec, double preciseWithoutLo, double fastWithoutLast) {
    }

    private Errors errors(int tokens, int n, int k, float wScale, int samples) {
        WeightTensor w = GpuTestSupport.bf16Matrix(random, "w", n, k, wScale);
        float[] x = GpuTestSupport.randoms(random, tokens * k, 1f);
        float[] bias = GpuTestSupport.randoms(random, n, 0.1f);
        int[] picks = null;
        if (samples > 0) {
            picks = new int[2 * samples];
            for (int i = 0; i < samples; i++) {
                picks[2 * i] = random.nextInt(tokens);
                picks[2 * i + 1] = random.nextInt(n);
            }
        }
        float[] ref = GemmNumerics.simulate(null, x, tokens, w, bias, picks);
        return new Errors(
                GemmNumerics.error(ref, GemmNumerics.simulate(Path.PRECISE, x, tokens, w, bias, picks)),
                GemmNumerics.error(ref, GemmNumerics.simulate(Path.FAST, x, tokens, w, bias, picks)),
                GemmNumerics.error(ref, GemmNumerics.simulate(Path.MATVEC, x, tokens, w, bias, picks)),
                GemmNumerics.error(ref, GemmNumerics.simulate(Path.PRECISE_WITHOUT_LO, x, tokens, w, bias, picks)),
                GemmNumerics.error(ref, GemmNumerics.simulate(Path.FAST_WITHOUT_LAST_STEP, x, tokens, w, bias, picks)));
    }

    private static void separates(String shape, Errors e) {
        double precise = GemmNumerics.bound(Path.PRECISE, e.precise());
        double fast = GemmNumerics.bound(Path.FAST, e.fast());
        double matvec = GemmNumerics.bound(Path.MATVEC, e.matvec());
        System.out.printf("%s: PRECISE %.2e (bound %.2e, without lo %.2e), FAST %.2e (bound %.2e, without last step "
                        + "%.2e), MATVEC %.2e (bound %.2e)%n", shape, e.precise(), precise, e.preciseWithoutLo(), e.fast(),
                fast, e.fastWithoutLast(), e.matvec(), matvec);
        assertTrue(e.precise() < 2e-5, shape + ": PRECISE is about f32 accurate, simulated " + e.precise());
        assertTrue(e.fast() > 2e-4 && e.fast() < 6e-3, shape + ": FAST is about bf16 accurate, simulated " + e.fast());
        assertTrue(e.preciseWithoutLo() > 20 * precise, shape + ": PRECISE without its low part ("
                + e.preciseWithoutLo() + ") must fail PRECISE's bound " + precise + " by far");
        assertTrue(e.fastWithoutLast() > 3 * fast, shape + ": FAST without its last K step (" + e.fastWithoutLast()
                + ") must fail FAST's bound " + fast);
        assertTrue(e.fast() > 20 * matvec, shape + ": a matvec rounding x to bf16 (" + e.fast()
                + ") must fail the matvec bound " + matvec);
    }

    @Test
    void boundsFromTheSimulatedErrorFailEveryBrokenVariant() {
        separates("[1000, 128] x 129", errors(129, 1000, 128, 0.05f, 0));
        separates("[200, 80] x 64 (half slice)", errors(64, 200, 80, 0.05f, 0));
        separates("[896, 896] x 300 (small q)", errors(300, 896, 896, 0.05f, 1500));
        separates("[27648, 5120] x 40 (QwQ gate/up, sampled)", errors(40, 27648, 5120, 0.02f, 500));
        separates("[5120, 27648] x 40 (QwQ down, sampled)", errors(40, 5120, 27648, 0.02f, 150));
    }
}
