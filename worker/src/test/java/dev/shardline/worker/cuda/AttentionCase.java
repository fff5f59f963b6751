package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.HostActivations;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvLayer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * One attention step on random data, shared by the CPU simulations and the GPU tests: a paged cache of random
 * contents (earlier positions), block tables that are shuffled slices of it, the step's new k, v (stored at each
 * row's slot) and q; {@link #expected} is {@link ReferenceKernels}' output after its storeKv.
 *
 * @param keysBefore the cache before the step's storeKv; {@link #keysAfter} after it (likewise values)
 */
record AttentionCase(int qHeads, int kvHeads, int headDim, int blockSize, int numBlocks, AttentionBatch batch,
                     float[] keysBefore, float[] valuesBefore, float[] k, float[] v, float[] q,
                     float[] keysAfter, float[] valuesAfter, float[] expected) {

    static final Kernels REF = new ReferenceKernels();

    /** @param sequences {rows, firstPosition} per sequence */
    static AttentionCase random(Random random, int qHeads, int kvHeads, int headDim, int blockSize, int[][] sequences) {
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
        int cacheFloats = numBlocks * blockSize * kvDim;
        float[] keys = GpuTestSupport.randoms(random, cacheFloats, 1f);
        float[] values = GpuTestSupport.randoms(random, cacheFloats, 1f);
        float[] k = GpuTestSupport.randoms(random, rows * kvDim, 1f);
        float[] v = GpuTestSupport.randoms(random, rows * kvDim, 1f);
        float[] q = GpuTestSupport.randoms(random, rows * qDim, 1f);
        float[] expected = new float[rows * qDim];
        float[] keysAfter = new float[cacheFloats];
        float[] valuesAfter = new float[cacheFloats];
        try (KvLayer ref = KvLayer.allocate(REF, numBlocks, blockSize, kvDim)) {
            REF.write(keys, 0, ref.keys(), 0, keys.length);
            REF.write(values, 0, ref.values(), 0, values.length);
            REF.storeKv(new HostActivations(k), new HostActivations(v), batch, ref);
            REF.attention(new HostActivations(q), new HostActivations(expected), batch, ref);
            REF.read(ref.keys(), 0, keysAfter, 0, cacheFloats);
            REF.read(ref.values(), 0, valuesAfter, 0, cacheFloats);
        }
        return new AttentionCase(qHeads, kvHeads, headDim, blockSize, numBlocks, batch, keys, values, k, v, q,
                keysAfter, valuesAfter, expected);
    }

    int kvDim() {
        return kvHeads * headDim;
    }

    int rows() {
        return batch.totalRows();
    }

    /** The tiling the CUDA backend uses for this batch. */
    PrefillTiling tiling() {
        return PrefillTiling.of(batch);
    }

    /** The simulated output of the CUDA attention (flash tiles and split rows) over this case's cache. */
    float[] simulate(FlashAttentionNumerics.KvStorage storage, FlashAttentionNumerics.Softmax softmax) {
        return FlashAttentionNumerics.simulate(q, keysAfter, valuesAfter, batch, blockSize, tiling(), storage, softmax);
    }

    String shape() {
        StringBuilder s = new StringBuilder(qHeads + "/" + kvHeads + "x" + headDim + " [");
        for (SequenceSlice seq : batch.sequences()) s.append(' ').append(seq.rows()).append('@').append(seq.firstPosition());
        return s.append(" ]").toString();
    }
}
