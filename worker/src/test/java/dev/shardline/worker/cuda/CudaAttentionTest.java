package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.worker.cuda.FlashAttentionNumerics.KvStorage;
import dev.shardline.worker.cuda.FlashAttentionNumerics.Softmax;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.function.LongFunction;

import static dev.shardline.worker.cuda.GpuTestSupport.assertClose;
import static dev.shardline.worker.cuda.GpuTestSupport.download;
import static dev.shardline.worker.cuda.GpuTestSupport.upload;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * storeKv and attention of {@link CudaKernels} against {@code ReferenceKernels} over the same paged caches (random
 * contents, shuffled block tables): prefill chunks after earlier chunks (flash prefill tiles), several sequences of
 * different lengths in one batch, decode beyond 4096 positions (split-K with the combine kernel), at the tiny
 * (4/2 x 16), small (14/2 x 64) and QwQ (40/8 x 128) head layouts, over an f32 and a bf16 cache. Bounds are
 * derived on the CPU first ({@link FlashAttentionNumerics}: the kernel's arithmetic simulated on the same inputs),
 * and each is first shown to fail a broken variant: an online softmax that does not rescale its sum (f32), a bf16
 * cache that truncates or is read one element off (bf16). The cache after storeKv is exact: the f32 values, or
 * their bf16 rounding to nearest even.
 */
class CudaAttentionTest extends GpuTest {
    private final Random random = new Random(7);

    @Test
    void tinyHeadsPrefillAfterEarlierChunksAndDecodeInOneBatch() {
        // {rows, firstPosition}: a first chunk, a later chunk, a decode row, a chunk crossing block boundaries
        both(4, 2, 16, 16, new int[][] {{20, 0}, {7, 30}, {1, 37}, {33, 15}});
    }

    @Test
    void smallModelHeads() {
        both(14, 2, 64, 16, new int[][] {{1, 0}, {1, 200}, {64, 64}, {5, 1000}});
    }

    @Test
    void qwqHeadsFlashPrefillTilesAndShortChunks() {
        both(40, 8, 128, 16, new int[][] {{100, 200}, {9, 0}, {2, 127}, {1, 600}});
    }

    @Test
    void qwqHeadsDecodeBeyond4096UsesSplitK() {
        both(40, 8, 128, 16, new int[][] {{1, 4500}, {1, 9000}, {1, 3}});          // decode only: many splits
        both(40, 8, 128, 16, new int[][] {{20, 2000}, {1, 6000}, {2, 127}});      // prefill chunk + decode
    }

    @Test
    void tablesThatDoNotCoverThePositionsAreRefused() {
        try (KvLayer kv = KvLayer.allocate(cuda, 4, 16, 32)) {
            AttentionBatch b = new AttentionBatch(List.of(new SequenceSlice(0, 1, 40, new int[] {0, 1})), 4, 2, 16,
                    0.25f);
            try (var k = cuda.allocate(32); var v = cuda.allocate(32)) {
                assertThrows(IllegalArgumentException.class, () -> cuda.storeKv(k, v, b, kv));
            }
        }
    }

    private void both(int qHeads, int kvHeads, int headDim, int blockSize, int[][] sequences) {
        AttentionCase a = AttentionCase.random(random, qHeads, kvHeads, headDim, blockSize, sequences);
        // bounds first, on the CPU: each must fail its broken variant
        double f32Sim = GemmNumerics.error(a.expected(), a.simulate(KvStorage.F32, Softmax.ONLINE));
        double f32Bound = FlashAttentionNumerics.f32Bound(f32Sim, a.tiling().splitRows().length > 0);
        double unrescaled = GemmNumerics.error(a.expected(), a.simulate(KvStorage.F32, Softmax.SUM_NOT_RESCALED));
        if (a.tiling().tileCount() > 0) {
            assertTrue(unrescaled > f32Bound, a.shape() + ": the f32 bound " + f32Bound + " passes an unrescaled sum "
                    + unrescaled);
        }
        double bf16Sim = GemmNumerics.error(a.expected(), a.simulate(KvStorage.BF16, Softmax.ONLINE));
        double bf16Bound = FlashAttentionNumerics.bf16Bound(bf16Sim, f32Bound);
        for (KvStorage broken : new KvStorage[] {KvStorage.BF16_TRUNCATED, KvStorage.BF16_SHIFTED}) {
            double e = GemmNumerics.error(a.expected(), a.simulate(broken, Softmax.ONLINE));
            assertTrue(e > bf16Bound, a.shape() + ": the bf16 bound " + bf16Bound + " passes " + broken + " " + e);
        }
        check(a, KvStorage.F32, f32Bound);
        check(a, KvStorage.BF16, bf16Bound);
    }

    /** One step on the GPU with the cache in {@code storage} (F32 or BF16). */
    private void check(AttentionCase a, KvStorage storage, double bound) {
        int rows = a.rows();
        int qDim = a.qHeads() * a.headDim();
        int cacheFloats = a.keysBefore().length;
        LongFunction<Activations> allocator = storage == KvStorage.BF16 ? cuda::allocateKv : cuda::allocate;
        String shape = a.shape() + " " + storage + " cache";
        try (KvLayer dev = KvLayer.allocate(allocator, a.numBlocks(), a.blockSize(), a.kvDim());
             var dk = upload(cuda, a.k()); var dv = upload(cuda, a.v()); var dq = upload(cuda, a.q());
             var out = cuda.allocate(rows * qDim)) {
            assertTrue(((DeviceActivations) dev.keys()).bf16() == (storage == KvStorage.BF16), dev.keys().toString());
            cuda.write(a.keysBefore(), 0, dev.keys(), 0, cacheFloats);
            cuda.write(a.valuesBefore(), 0, dev.values(), 0, cacheFloats);
            cuda.storeKv(dk, dv, a.batch(), dev);
            cuda.attention(dq, out, a.batch(), dev);

            assertClose("storeKv keys " + shape, storage.apply(a.keysAfter()),
                    download(cuda, dev.keys(), cacheFloats), 0);
            assertClose("storeKv values " + shape, storage.apply(a.valuesAfter()),
                    download(cuda, dev.values(), cacheFloats), 0);
            assertClose("attention " + shape + " (" + a.tiling().tileCount() + " flash tiles, "
                    + a.tiling().splitRows().length + " split rows)", a.expected(), download(cuda, out, a.expected().length),
                    bound);
        }
    }
}
