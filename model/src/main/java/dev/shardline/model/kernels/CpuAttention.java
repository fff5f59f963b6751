package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.L;

import dev.shardline.model.kvcache.KvLayer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Causal grouped-query attention over the paged KV cache, parallel over (row, query head) pairs. Each pair takes
 * dot products with the cached keys of its kv head (vectorised over headDim), a float32 softmax with max
 * subtraction, and the weighted sum of the cached values.
 */
final class CpuAttention {
    private final ParallelRunner runner;
    private final float[][] scores; // per worker, grown to the longest context seen
    private int[] rowSequence = new int[0];
    private int[] rowIndex = new int[0];

    CpuAttention(ParallelRunner runner) {
        this.runner = runner;
        this.scores = new float[runner.threads()][];
    }

    void attention(float[] q, float[] out, AttentionBatch batch, KvLayer kv) {
        int headDim = batch.headDim();
        if (kv.kvDim() != batch.kvHeads() * headDim) {
            throw new IllegalArgumentException("KV layer width " + kv.kvDim() + " != kvHeads x headDim "
                    + batch.kvHeads() + " x " + headDim);
        }
        if (batch.qHeads() % batch.kvHeads() != 0) {
            throw new IllegalArgumentException("qHeads " + batch.qHeads() + " is not a multiple of kvHeads "
                    + batch.kvHeads());
        }
        int rows = batch.totalRows();
        if (rowSequence.length < rows) {
            rowSequence = new int[rows];
            rowIndex = new int[rows];
        }
        int r = 0;
        for (int s = 0; s < batch.sequences().size(); s++) {
            for (int i = 0; i < batch.sequences().get(s).rows(); i++, r++) {
                rowSequence[r] = s;
                rowIndex[r] = i;
            }
        }
        int[] seqOf = rowSequence;
        int[] indexOf = rowIndex;
        int qHeads = batch.qHeads();
        runner.run(rows * qHeads, (c, worker) -> {
            int row = c / qHeads;
            int h = c % qHeads;
            SequenceSlice seq = batch.sequences().get(seqOf[row]);
            int i = indexOf[row];
            head(q, out, batch, kv, seq, seq.rowStart() + i, seq.firstPosition() + i, h, worker);
        });
    }

    private void head(float[] q, float[] out, AttentionBatch batch, KvLayer kv, SequenceSlice seq, int row,
                      int position, int h, int worker) {
        int headDim = batch.headDim();
        int qOff = row * batch.qHeads() * headDim + h * headDim;
        int kvOff = (h / batch.groupSize()) * headDim;
        float[] keys = kv.keys();
        float[] values = kv.values();
        int[] blockTable = seq.blockTable();
        float[] s = scores[worker];
        if (s == null || s.length < position + 1) {
            s = scores[worker] = new float[Math.max(position + 1, s == null ? 256 : s.length * 2)];
        }
        float scale = batch.scale();
        int dv = F.loopBound(headDim);
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p <= position; p++) {
            int slot = kv.offset(blockTable, p) + kvOff;
            FloatVector acc = FloatVector.zero(F);
            for (int d = 0; d < dv; d += L) {
                acc = FloatVector.fromArray(F, q, qOff + d).fma(FloatVector.fromArray(F, keys, slot + d), acc);
            }
            float dot = acc.reduceLanes(VectorOperators.ADD);
            for (int d = dv; d < headDim; d++) {
                dot += q[qOff + d] * keys[slot + d];
            }
            float score = dot * scale;
            s[p] = score;
            max = Math.max(max, score);
        }
        float sum = 0f;
        for (int p = 0; p <= position; p++) {
            float e = (float) Math.exp(s[p] - max);
            s[p] = e;
            sum += e;
        }
        float inv = 1f / sum;
        java.util.Arrays.fill(out, qOff, qOff + headDim, 0f);
        for (int p = 0; p <= position; p++) {
            int slot = kv.offset(blockTable, p) + kvOff;
            float wp = s[p] * inv;
            FloatVector wv = FloatVector.broadcast(F, wp);
            for (int d = 0; d < dv; d += L) {
                FloatVector.fromArray(F, values, slot + d).fma(wv, FloatVector.fromArray(F, out, qOff + d))
                        .intoArray(out, qOff + d);
            }
            for (int d = dv; d < headDim; d++) {
                out[qOff + d] += wp * values[slot + d];
            }
        }
    }
}
