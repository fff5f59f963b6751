package dev.shardline.model.kernels;

import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;

/**
 * The operations of a Qwen2 decoder, written once in {@code Qwen2Forward} against this interface.
 *
 * <p>Activations are row-major float arrays {@code [tokens, width]}; only the first {@code tokens} rows are read
 * or written, so callers may reuse larger scratch arrays. Weights are {@link WeightTensor}s in any supported dtype
 * (bf16 is read directly, never widened in memory). Every backend is tested against {@link ReferenceKernels}.
 */
public interface Kernels extends AutoCloseable {

    /** "reference", "cpu", "cuda". */
    String name();

    /** {@code out[t, :] = table[ids[t], :]}; out is {@code [ids.length, hidden]}. */
    void embed(WeightTensor table, int[] ids, float[] out);

    /**
     * RMSNorm as Qwen2 computes it: {@code out[t, i] = x[t, i] / sqrt(mean_i(x[t, :]^2) + eps) * weight[i]}
     * for {@code t < tokens}; the width is {@code weight.rows()}.
     */
    void rmsNorm(float[] x, WeightTensor weight, float eps, int tokens, float[] out);

    /**
     * {@code out[t, n] = sum_k x[t, k] * w[n, k] + bias[n]} for {@code t < tokens}: x is {@code [tokens, K]},
     * w is {@code [N, K]} ({@code nn.Linear} layout), out is {@code [tokens, N]}; bias may be null.
     * One token is a matrix-vector product (decode), many a matrix-matrix product (prefill).
     */
    void matmul(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out);

    /**
     * Rotate-half (NeoX) RoPE in place on {@code x [tokens, heads, headDim]}: for {@code d < headDim/2},
     * {@code x'[d] = x[d] cos - x[d + half] sin} and {@code x'[d + half] = x[d + half] cos + x[d] sin}, with
     * {@code cos, sin [tokens, headDim/2]} already holding any YaRN attention factor.
     */
    void rope(float[] x, int tokens, int heads, int headDim, float[] cos, float[] sin);

    /**
     * Writes this step's keys and values ({@code [rows, kvDim]} each, rows as in the batch) into their cache slots.
     */
    void storeKv(float[] k, float[] v, AttentionBatch batch, KvLayer kv);

    /**
     * Causal grouped-query attention over the paged cache (which already holds this step's keys and values):
     * the row at position p of a sequence attends to that sequence's positions 0..p. q and out are
     * {@code [rows, qHeads * headDim]}; softmax in float32.
     */
    void attention(float[] q, float[] out, AttentionBatch batch, KvLayer kv);

    /** {@code out[i] = silu(gate[i]) * up[i]} for {@code i < n}, with {@code silu(x) = x / (1 + exp(-x))}. */
    void swiglu(float[] gate, float[] up, int n, float[] out);

    /** {@code acc[i] += x[i]} for {@code i < n}. */
    void add(float[] acc, float[] x, int n);

    /** Releases threads or device memory; the default has nothing to release. */
    @Override
    default void close() {
    }
}
