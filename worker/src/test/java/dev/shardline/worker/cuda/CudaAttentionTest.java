package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvLayer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static dev.shardline.worker.cuda.GpuTestSupport.assertClose;
import static dev.shardline.worker.cuda.GpuTestSupport.download;
import static dev.shardline.worker.cuda.GpuTestSupport.randoms;
import static dev.shardline.worker.cuda.GpuTestSupport.upload;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * storeKv and attention of {@link CudaKernels} against {@link ReferenceKernels} over the same paged caches (random
 * contents, shuffled block tables): prefill chunks after earlier chunks, several sequences of different lengths
 * in one batch, decode beyond 4096 positions (split-K with the combine kernel), at the tiny (4/2 x 16), small
 * (14/2 x 64) and QwQ (40/8 x 128) head layouts. Bounds (max-norm, relative): the cache after storeKv is exact,
 * attention 1e-5 (f32 online softmax vs the double reference).
 */
class CudaAttentionTest extends GpuTest {
    private static final Kernels REF = new ReferenceKernels();
    private final Random random = new Random(7);

    @Test
    void tinyHeadsPrefillAfterEarlierChunksAndDecodeInOneBatch() {
        // {rows, firstPosition}: a first chunk, a later chunk, a decode row, a chunk crossing block boundaries
        check(4, 2, 16, 16, new int[][] {{20, 0}, {7, 30}, {1, 37}, {33, 15}});
    }

    @Test
    void smallModelHeads() {
        check(14, 2, 64, 16, new int[][] {{1, 0}, {1, 200}, {64, 64}, {5, 1000}});
    }

    @Test
    void qwqHeadsDecodeBeyond4096UsesSplitK() {
        check(40, 8, 128, 16, new int[][] {{1, 4500}, {1, 9000}, {1, 3}});          // decode only: many splits
        check(40, 8, 128, 16, new int[][] {{33, 5000}, {1, 6000}, {2, 127}});      // prefill chunk + decode
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

    /** One step: every sequence's block table is a shuffled slice of the cache's blocks. */
    private void check(int qHeads, int kvHeads, int headDim, int blockSize, int[][] sequences) {
        int kvDim = kvHeads * headDim;
        int qDim = qHeads * headDim;
        int blocksNeeded = 0;
        for (int[] s : sequences) blocksNeeded += (s[0] + s[1] + blockSize - 1) / blockSize;
        int numBlocks = blocksNeeded + 3;
        List<Integer> free = new ArrayList<>();
        for (int i = 0; i < numBlocks; i++) free.add(i);
        Collections.shuffle(free, random);
        List<SequenceSlice> slices = new ArrayList<>();
        int row = 0;
        for (int[] s : sequences) {
            int[] table = new int[(s[0] + s[1] + blockSize - 1) / blockSize];
            for (int i = 0; i < table.length; i++) table[i] = free.removeFirst();
            slices.add(new SequenceSlice(row, s[0], s[1], table));
            row += s[0];
        }
        int rows = row;
        AttentionBatch batch = new AttentionBatch(slices, qHeads, kvHeads, headDim, (float) (1 / Math.sqrt(headDim)));
        long cacheFloats = (long) numBlocks * blockSize * kvDim;
        float[] keys = randoms(random, (int) cacheFloats, 1f);       // earlier positions: whatever is there
        float[] values = randoms(random, (int) cacheFloats, 1f);
        float[] k = randoms(random, rows * kvDim, 1f);
        float[] v = randoms(random, rows * kvDim, 1f);
        float[] q = randoms(random, rows * qDim, 1f);

        String shape = qHeads + "/" + kvHeads + "x" + headDim + " " + java.util.Arrays.deepToString(sequences);
        float[] expected = new float[rows * qDim];
        try (KvLayer ref = KvLayer.allocate(REF, numBlocks, blockSize, kvDim);
             KvLayer dev = KvLayer.allocate(cuda, numBlocks, blockSize, kvDim);
             var dk = upload(cuda, k); var dv = upload(cuda, v); var dq = upload(cuda, q);
             var out = cuda.allocate(rows * qDim)) {
            REF.write(keys, 0, ref.keys(), 0, keys.length);
            REF.write(values, 0, ref.values(), 0, values.length);
            cuda.write(keys, 0, dev.keys(), 0, keys.length);
            cuda.write(values, 0, dev.values(), 0, values.length);

            REF.storeKv(GpuTestSupport.host(k), GpuTestSupport.host(v), batch, ref);
            REF.attention(GpuTestSupport.host(q), GpuTestSupport.host(expected), batch, ref);
            cuda.storeKv(dk, dv, batch, dev);
            cuda.attention(dq, out, batch, dev);

            assertClose("storeKv keys " + shape, download(REF, ref.keys(), keys.length),
                    download(cuda, dev.keys(), keys.length), 0);
            assertClose("storeKv values " + shape, download(REF, ref.values(), values.length),
                    download(cuda, dev.values(), values.length), 0);
            assertClose("attention " + shape, expected, download(cuda, out, expected.length), 1e-5);
        }
    }
}
