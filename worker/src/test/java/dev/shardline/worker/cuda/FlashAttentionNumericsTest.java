package dev.shardline.worker.cuda;

import dev.shardline.worker.cuda.FlashAttentionNumerics.KvStorage;
import dev.shardline.worker.cuda.FlashAttentionNumerics.Softmax;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU side of the GPU attention bounds (runs everywhere), on the shapes {@link CudaAttentionTest} uses: the
 * flash prefill kernel's simulated arithmetic stays within f32 noise of {@code ReferenceKernels}, and the bound
 * derived from it ({@link FlashAttentionNumerics#f32Bound}) fails an online softmax that does not rescale its running
 * sum; the bf16 cache's simulated difference to the f32 reference gives the bf16 bound, which fails a cache that
 * truncates instead of rounding and one read one element off.
 */
class FlashAttentionNumericsTest {
    private final Random random = new Random(11);

    /** The same step shapes as the GPU test, at the tiny, small and QwQ head layouts. */
    static final Object[][] CASES = {
            {4, 2, 16, 16, new int[][] {{20, 0}, {7, 30}, {1, 37}, {33, 15}}},
            {14, 2, 64, 16, new int[][] {{1, 0}, {1, 200}, {64, 64}, {5, 1000}}},
            {40, 8, 128, 16, new int[][] {{40, 300}, {1, 600}, {2, 127}, {9, 0}}},
    };

    static AttentionCase attentionCase(Random random, Object[] c) {
        return AttentionCase.random(random, (int) c[0], (int) c[1], (int) c[2], (int) c[3], (int[][]) c[4]);
    }

    @Test
    void flashSimulationIsF32NoiseAndItsBoundFailsAnUnrescaledSum() {
        for (Object[] c : CASES) {
            AttentionCase a = attentionCase(random, c);
            assertTrue(a.tiling().tileCount() > 0, a.shape() + ": no flash tiles");
            double flash = GemmNumerics.error(a.expected(), a.simulate(KvStorage.F32, Softmax.ONLINE));
            double broken = GemmNumerics.error(a.expected(), a.simulate(KvStorage.F32, Softmax.SUM_NOT_RESCALED));
            double bound = FlashAttentionNumerics.f32Bound(flash, false);
            System.out.printf("%s: flash %.2e (bound %.2e), sum not rescaled %.2e, tiles of <= %d rows%n", a.shape(),
                    flash, bound, broken, a.tiling().tileRows());
            assertTrue(flash < 1e-5, a.shape() + ": f32 online softmax is f32 noise, simulated " + flash);
            assertTrue(broken > bound, a.shape() + ": sum not rescaled " + broken + " passes the bound " + bound);
        }
    }

    @Test
    void bf16CacheBoundFailsTruncationAndAWrongOffset() {
        for (Object[] c : CASES) {
            AttentionCase a = attentionCase(random, c);
            double flash = GemmNumerics.error(a.expected(), a.simulate(KvStorage.F32, Softmax.ONLINE));
            double bf16 = GemmNumerics.error(a.expected(), a.simulate(KvStorage.BF16, Softmax.ONLINE));
            double truncated = GemmNumerics.error(a.expected(), a.simulate(KvStorage.BF16_TRUNCATED, Softmax.ONLINE));
            double shifted = GemmNumerics.error(a.expected(), a.simulate(KvStorage.BF16_SHIFTED, Softmax.ONLINE));
            double bound = FlashAttentionNumerics.bf16Bound(bf16,
                    FlashAttentionNumerics.f32Bound(flash, a.tiling().splitRows().length > 0));
            System.out.printf("%s: bf16 cache %.2e (bound %.2e), truncated %.2e, one element off %.2e%n", a.shape(),
                    bf16, bound, truncated, shifted);
            assertTrue(bf16 > 1e-4 && bf16 < 2e-2, a.shape() + ": bf16's 8 bits of mantissa, simulated " + bf16);
            assertTrue(truncated > bound, a.shape() + ": truncation " + truncated + " passes the bound " + bound);
            assertTrue(shifted > bound, a.shape() + ": a wrong offset " + shifted + " passes the bound " + bound);
        }
    }

    @Test
    void theSimulationsReferenceIsReferenceKernels() {
        AttentionCase a = attentionCase(random, CASES[0]);
        assertArrayEquals(a.expected(), FlashAttentionNumerics.reference(a.q(), a.keysAfter(), a.valuesAfter(),
                a.batch(), a.blockSize(), KvStorage.F32));
    }

    @Test
    void butterflySumAddsEveryLane() {
        float[] lanes = new float[32];
        for (int i = 0; i < 32; i++) lanes[i] = i;
        assertTrue(FlashAttentionNumerics.butterflySum(lanes) == 496f);
    }
}
