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
        float[] keys = HostActivations.of(kv.keys());
        float[] values = HostActivations.of(kv.values());
        int[] blockTable = seq.blockTable();
        float[] s = scores[worker];
        if (s == null || s.length < position + 1) {
            s = scores[worker] = new float[Math.max(position + 1, s == null ? 256 : s.length * 2)];
        }
        float scale = batch.scale();
        int dv = F.loopBound(headDim);
        float max = Float.NEGATIVE_INFINITY;
        boolean eight = headDim == 8 * L;
        for (int p = 0; p <= position; p++) {
            int slot = kv.offset(blockTable, p) + kvOff;
            float dot = eight ? dot8(q, qOff, keys, slot) : dot(q, qOff, keys, slot, headDim, dv);
            float score = dot * scale;
            s[p] = score;
            max = Math.max(max, score);
        }
        float sum = expInPlace(s, position + 1, max);
        float inv = 1f / sum;
        if (eight) {
            weightedSum8(s, inv, position, kv, blockTable, kvOff, values, out, qOff);
            return;
        }
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

    private static float dot(float[] q, int qOff, float[] keys, int slot, int headDim, int dv) {
        FloatVector acc = FloatVector.zero(F);
        for (int d = 0; d < dv; d += L) {
            acc = FloatVector.fromArray(F, q, qOff + d).fma(FloatVector.fromArray(F, keys, slot + d), acc);
        }
        float dot = acc.reduceLanes(VectorOperators.ADD);
        for (int d = dv; d < headDim; d++) {
            dot += q[qOff + d] * keys[slot + d];
        }
        return dot;
    }

    /** The dot product for headDim = 8L (128 with AVX-512): two independent chains, one reduction. */
    private static float dot8(float[] q, int qOff, float[] keys, int slot) {
        FloatVector a = FloatVector.fromArray(F, q, qOff).mul(FloatVector.fromArray(F, keys, slot));
        FloatVector b = FloatVector.fromArray(F, q, qOff + L).mul(FloatVector.fromArray(F, keys, slot + L));
        a = FloatVector.fromArray(F, q, qOff + 2 * L).fma(FloatVector.fromArray(F, keys, slot + 2 * L), a);
        b = FloatVector.fromArray(F, q, qOff + 3 * L).fma(FloatVector.fromArray(F, keys, slot + 3 * L), b);
        a = FloatVector.fromArray(F, q, qOff + 4 * L).fma(FloatVector.fromArray(F, keys, slot + 4 * L), a);
        b = FloatVector.fromArray(F, q, qOff + 5 * L).fma(FloatVector.fromArray(F, keys, slot + 5 * L), b);
        a = FloatVector.fromArray(F, q, qOff + 6 * L).fma(FloatVector.fromArray(F, keys, slot + 6 * L), a);
        b = FloatVector.fromArray(F, q, qOff + 7 * L).fma(FloatVector.fromArray(F, keys, slot + 7 * L), b);
        return a.add(b).reduceLanes(VectorOperators.ADD);
    }

    /** {@code s[p] = exp(s[p] - max)} for p < n, vectorised; returns the sum. */
    private static float expInPlace(float[] s, int n, float max) {
        int p = 0;
        FloatVector acc = FloatVector.zero(F);
        for (int bound = F.loopBound(n); p < bound; p += L) {
            FloatVector e = FloatVector.fromArray(F, s, p).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, p);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; p < n; p++) {
            float e = (float) Math.exp(s[p] - max);
            s[p] = e;
            sum += e;
        }
        return sum;
    }

    /** {@code out[qOff ..] = sum_p s[p] * inv * values[slot(p) ..]} for headDim = 8L, accumulated in registers. */
    private static void weightedSum8(float[] s, float inv, int position, KvLayer kv, int[] blockTable, int kvOff,
                                     float[] values, float[] out, int qOff) {
        FloatVector o0 = FloatVector.zero(F), o1 = FloatVector.zero(F), o2 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        FloatVector o4 = FloatVector.zero(F), o5 = FloatVector.zero(F), o6 = FloatVector.zero(F), o7 = FloatVector.zero(F);
        for (int p = 0; p <= position; p++) {
            int slot = kv.offset(blockTable, p) + kvOff;
            FloatVector wv = FloatVector.broadcast(F, s[p] * inv);
            o0 = FloatVector.fromArray(F, values, slot).fma(wv, o0);
            o1 = FloatVector.fromArray(F, values, slot + L).fma(wv, o1);
            o2 = FloatVector.fromArray(F, values, slot + 2 * L).fma(wv, o2);
            o3 = FloatVector.fromArray(F, values, slot + 3 * L).fma(wv, o3);
            o4 = FloatVector.fromArray(F, values, slot + 4 * L).fma(wv, o4);
            o5 = FloatVector.fromArray(F, values, slot + 5 * L).fma(wv, o5);
            o6 = FloatVector.fromArray(F, values, slot + 6 * L).fma(wv, o6);
            o7 = FloatVector.fromArray(F, values, slot + 7 * L).fma(wv, o7);
        }
        o0.intoArray(out, qOff);
        o1.intoArray(out, qOff + L);
        o2.intoArray(out, qOff + 2 * L);
        o3.intoArray(out, qOff + 3 * L);
        o4.intoArray(out, qOff + 4 * L);
        o5.intoArray(out, qOff + 5 * L);
        o6.intoArray(out, qOff + 6 * L);
        o7.intoArray(out, qOff + 7 * L);
    }
}
