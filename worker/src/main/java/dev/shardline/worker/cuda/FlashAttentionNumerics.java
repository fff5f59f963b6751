package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.tensor.WeightTensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * What the CUDA attention computes, modelled on the CPU, so its tests' bounds come from the expected error on the
 * very inputs they check:
 * <ul>
 *   <li>the flash prefill kernel (attention.cu {@code flash_prefill_kernel}) on the tiles of a {@link PrefillTiling}:
 *       per query vector, K/V in tiles of {@value PrefillTiling#BLOCK_POSITIONS} positions in the kernel's order,
 *       f32 scores by fused multiply-add in dimension order, the tile's max and a butterfly sum of
 *       {@code exp(s - m_new)} over 32 lanes, {@code l = fma(l, exp(m_old - m_new), sum)}, the accumulator rescaled
 *       then fused multiply-adds in position order, divided by l at the end (the GPU's expf is within 2 ulp of
 *       the rounded exp used here: modelled, not reproduced);</li>
 *   <li>every other row (split-K kernel): the double reference, over the same cache contents;</li>
 *   <li>the cache as the device holds it ({@link KvStorage}): f32, or bf16 rounded to nearest even (reproduced
 *       exactly), so the bf16 cache's difference to the f32 reference is known before a GPU is asked.</li>
 * </ul>
 * Rows and heads are simulated in parallel. Broken variants a bound must fail: {@link Softmax#SUM_NOT_RESCALED} (l not multiplied by exp(m_old - m_new) when
 * the max grows), {@link KvStorage#BF16_TRUNCATED} (bf16 by truncation) and {@link KvStorage#BF16_SHIFTED} (each
 * element read one element off: a wrong byte offset).
 */
public final class FlashAttentionNumerics {

    /** The online softmax as the kernel does it, or broken. */
    public enum Softmax { ONLINE, SUM_NOT_RESCALED }

    /** How the cache holds keys and values. */
    public enum KvStorage {
        F32, BF16, BF16_TRUNCATED, BF16_SHIFTED;

        /** The values the kernels read back from a cache written with {@code values}. */
        public float[] apply(float[] values) {
            float[] out = new float[values.length];
            for (int i = 0; i < values.length; i++) {
                out[i] = switch (this) {
                    case F32 -> values[i];
                    case BF16 -> bf16(values[i]);
                    case BF16_TRUNCATED -> Float.intBitsToFloat(Float.floatToRawIntBits(values[i]) & 0xffff0000);
                    case BF16_SHIFTED -> bf16(values[Math.min(values.length - 1, i + 1)]);
                };
            }
            return out;
        }
    }

    /** Margin over a simulated error that is f32 rounding noise (modelled, not reproduced). */
    public static final double F32_MARGIN = 8;
    /** Floor of a bound (normalised): a few f32 ulps of the largest output. */
    public static final double FLOOR = 2e-6;
    /** The split-K kernel's bound (its f32 arithmetic is not simulated; the rows it serves are the reference's). */
    public static final double SPLIT_KERNEL_BOUND = 1e-5;

    private FlashAttentionNumerics() {
    }

    static float bf16(float v) {
        return WeightTensor.bf16ToFloat(WeightTensor.floatToBf16(v));
    }

    /**
     * The bound of the attention over an f32 cache: {@code max(F32_MARGIN x simulated, FLOOR)} where
     * {@code simulated} is the f32 simulation's normalised error, at least {@link #SPLIT_KERNEL_BOUND} when rows
     * go to the split-K kernel.
     */
    public static double f32Bound(double simulated, boolean splitRows) {
        return Math.max(Math.max(F32_MARGIN * simulated, FLOOR), splitRows ? SPLIT_KERNEL_BOUND : 0);
    }

    /**
     * The bound over a bf16 cache: the bf16 simulation's error (the rounding reproduced exactly) plus the f32
     * bound for the arithmetic noise on top of it (max-norm triangle inequality: |gpu - ref| <= |gpu - sim| +
     * |sim - ref|).
     */
    public static double bf16Bound(double simulatedBf16, double f32Bound) {
        return simulatedBf16 + f32Bound;
    }

    /**
     * Simulated attention output [rows, qHeads * headDim] for {@code q} over caches {@code keys}, {@code values}
     * ([numBlocks, blockSize, kvDim], the f32 contents before storage), the flash kernel on {@code tiling}'s tiles
     * and the double reference on its split rows.
     */
    public static float[] simulate(float[] q, float[] keys, float[] values, AttentionBatch batch, int blockSize,
                                   PrefillTiling tiling, KvStorage storage, Softmax softmax) {
        float[] k = storage.apply(keys);
        float[] v = storage.apply(values);
        int rows = batch.totalRows();
        int qDim = batch.qHeads() * batch.headDim();
        float[] out = new float[rows * qDim];
        int[] rowSeq = new int[rows];
        int[] rowPos = new int[rows];
        for (int s = 0; s < batch.sequences().size(); s++) {
            SequenceSlice seq = batch.sequences().get(s);
            for (int i = 0; i < seq.rows(); i++) {
                rowSeq[seq.rowStart() + i] = s;
                rowPos[seq.rowStart() + i] = seq.firstPosition() + i;
            }
        }
        // one task per (row, head), run in parallel (each writes its own part of out)
        int heads = batch.qHeads();
        int[] taskRow = new int[rows];
        int[] taskTileLen = new int[rows];       // > 0: a flash tile's length; 0: a split row
        int tasks = 0;
        for (int t = 0; t < tiling.tileCount(); t++) {
            int row0 = tiling.tiles()[2 * t];
            int n = tiling.tiles()[2 * t + 1];
            for (int r = 0; r < n; r++) {
                taskRow[tasks] = row0 + r;
                taskTileLen[tasks++] = rowPos[row0] + n;
            }
        }
        for (int row : tiling.splitRows()) {
            taskRow[tasks] = row;
            taskTileLen[tasks++] = 0;
        }
        IntStream.range(0, tasks * heads).parallel().forEach(i -> {
            int row = taskRow[i / heads];
            int h = i % heads;
            int[] table = batch.sequences().get(rowSeq[row]).blockTable();
            if (taskTileLen[i / heads] > 0) {
                flashVector(q, k, v, batch, blockSize, table, row, rowPos[row], taskTileLen[i / heads], h, softmax,
                        out);
            } else {
                referenceVector(q, k, v, batch, blockSize, table, row, rowPos[row], h, out);
            }
        });
        return out;
    }

    /** The double reference (ReferenceKernels' arithmetic) over what {@code storage} keeps of the cache. */
    public static float[] reference(float[] q, float[] keys, float[] values, AttentionBatch batch, int blockSize,
                                    KvStorage storage) {
        int[] none = new int[0];
        int rows = batch.totalRows();
        int[] all = new int[rows];
        Arrays.setAll(all, i -> i);
        return simulate(q, keys, values, batch, blockSize, new PrefillTiling(none, 0, all, 0), storage,
                Softmax.ONLINE);
    }

    private static int slot(int[] table, int p, int blockSize, int kvDim) {
        return (table[p / blockSize] * blockSize + p % blockSize) * kvDim;
    }

    /** One query vector (row, head) of a flash tile whose last row attends to {@code tileLen} positions. */
    private static void flashVector(float[] q, float[] k, float[] v, AttentionBatch b, int blockSize, int[] table,
                                    int row, int pos, int tileLen, int head, Softmax softmax, float[] out) {
        int d0 = b.headDim();
        int kvDim = b.kvHeads() * d0;
        int kvHead = head / b.groupSize();
        int qOff = row * b.qHeads() * d0 + head * d0;
        float[] qs = new float[d0];
        for (int d = 0; d < d0; d++) qs[d] = q[qOff + d] * b.scale();
        int bk = PrefillTiling.BLOCK_POSITIONS;
        float m = Float.NEGATIVE_INFINITY;
        float l = 0f;
        float[] acc = new float[d0];
        float[] p = new float[bk];
        for (int c0 = 0; c0 < tileLen; c0 += bk) {
            int n = Math.min(bk, tileLen - c0);
            float cmax = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < bk; j++) {
                float s = Float.NEGATIVE_INFINITY;
                if (j < n && c0 + j <= pos) {
                    int at = slot(table, c0 + j, blockSize, kvDim) + kvHead * d0;
                    s = 0f;
                    for (int d = 0; d < d0; d++) s = Math.fma(qs[d], k[at + d], s);
                }
                p[j] = s;
                cmax = Math.max(cmax, s);
            }
            float mNew = Math.max(m, cmax);
            for (int j = 0; j < bk; j++) {
                p[j] = p[j] == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(p[j] - mNew);
            }
            float sum = butterflySum(p);
            float f = m == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(m - mNew);
            l = softmax == Softmax.ONLINE ? Math.fma(l, f, sum) : l + sum;
            m = mNew;
            for (int d = 0; d < d0; d++) {
                float a = acc[d] * f;
                for (int j = 0; j < n; j++) {
                    if (p[j] == 0f) continue;                        // fma(0, v, a) == a (v finite)
                    a = Math.fma(p[j], v[slot(table, c0 + j, blockSize, kvDim) + kvHead * d0 + d], a);
                }
                acc[d] = a;
            }
        }
        int oOff = row * b.qHeads() * d0 + head * d0;
        for (int d = 0; d < d0; d++) out[oOff + d] = acc[d] / l;
    }

    /** The warp's xor-butterfly sum (every lane ends with the same value; lane 0's is taken). */
    static float butterflySum(float[] lanes) {
        float[] v = lanes.clone();
        for (int offset = 16; offset > 0; offset >>= 1) {
            float[] next = new float[32];
            for (int i = 0; i < 32; i++) next[i] = v[i] + v[i ^ offset];
            v = next;
        }
        return v[0];
    }

    private static void referenceVector(float[] q, float[] k, float[] v, AttentionBatch b, int blockSize,
                                        int[] table, int row, int pos, int head, float[] out) {
        int d0 = b.headDim();
        int kvDim = b.kvHeads() * d0;
        int kvHead = head / b.groupSize();
        int qOff = row * b.qHeads() * d0 + head * d0;
        double[] scores = new double[pos + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p <= pos; p++) {
            int at = slot(table, p, blockSize, kvDim) + kvHead * d0;
            double dot = 0;
            for (int d = 0; d < d0; d++) dot += (double) q[qOff + d] * k[at + d];
            scores[p] = dot * b.scale();
            max = Math.max(max, scores[p]);
        }
        double sum = 0;
        for (int p = 0; p <= pos; p++) {
            scores[p] = Math.exp(scores[p] - max);
            sum += scores[p];
        }
        for (int d = 0; d < d0; d++) {
            double acc = 0;
            for (int p = 0; p <= pos; p++) {
                acc += scores[p] / sum * v[slot(table, p, blockSize, kvDim) + kvHead * d0 + d];
            }
            out[qOff + d] = (float) acc;
        }
    }
}
