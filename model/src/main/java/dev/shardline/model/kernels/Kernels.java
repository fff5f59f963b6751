package dev.shardline.model.kernels;

import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.ModelWeights;

import java.util.function.LongConsumer;

/**
 * The operations of a Qwen2 decoder, written once in {@code Qwen2Forward} against this interface.
 *
 * <p>Activations live where the backend computes ({@link Activations}: heap arrays for the CPU backends, device
 * memory for CUDA), so a step moves data between host and backend only at its edges ({@link #write},
 * {@link #read}). They are row-major {@code [tokens, width]}; only the first {@code tokens} rows are read or
 * written, so callers may reuse larger scratch buffers. Weights are {@link WeightTensor}s in any supported dtype
 * (bf16 is read directly, never widened in memory; a GPU backend uploads each once). The KV cache is allocated by
 * the backend too ({@link KvLayer} holds two {@link Activations}). Every backend is tested against
 * {@link ReferenceKernels}.
 */
public interface Kernels extends AutoCloseable {

    /** "reference", "cpu" (or a benchmark variant of it, "cpu-packed-prefill", "cpu-first-quant", "cpu-byte-quant"), "cuda". */
    String name();

    /** Zeroed activation memory of {@code floats} floats on this backend; close it (or let the GC) when done. */
    Activations allocate(long floats);

    /** Host to backend: {@code dst[dstOffset + i] = src[srcOffset + i]} for {@code i < count}. */
    void write(float[] src, int srcOffset, Activations dst, long dstOffset, int count);

    /** Backend to host: {@code dst[dstOffset + i] = src[srcOffset + i]} for {@code i < count}. */
    void read(Activations src, long srcOffset, float[] dst, int dstOffset, int count);

    /** Within the backend: {@code dst[dstOffset + i] = src[srcOffset + i]} for {@code i < count}. */
    void copy(Activations src, long srcOffset, Activations dst, long dstOffset, int count);

    /** {@code out[t, :] = table[ids[t], :]}; out is {@code [ids.length, hidden]}. */
    void embed(WeightTensor table, int[] ids, Activations out);

    /**
     * RMSNorm as Qwen2 computes it: {@code out[t, i] = x[t, i] / sqrt(mean_i(x[t, :]^2) + eps) * weight[i]}
     * for {@code t < tokens}; the width is {@code weight.rows()}.
     */
    void rmsNorm(Activations x, WeightTensor weight, float eps, int tokens, Activations out);

    /**
     * {@code out[t, n] = sum_k x[t, k] * w[n, k] + bias[n]} for {@code t < tokens}: x is {@code [tokens, K]},
     * w is {@code [N, K]} ({@code nn.Linear} layout), out is {@code [tokens, N]}; bias may be null.
     * One token is a matrix-vector product (decode), many a matrix-matrix product (prefill).
     */
    void matmul(Activations x, int tokens, WeightTensor w, WeightTensor bias, Activations out);

    /**
     * Rotate-half (NeoX) RoPE in place on {@code x [tokens, heads, headDim]}: for {@code d < headDim/2},
     * {@code x'[d] = x[d] cos - x[d + half] sin} and {@code x'[d + half] = x[d + half] cos + x[d] sin}, with
     * {@code cos, sin [tokens, headDim/2]} already holding any YaRN attention factor.
     */
    void rope(Activations x, int tokens, int heads, int headDim, Activations cos, Activations sin);

    /**
     * Writes this step's keys and values ({@code [rows, kvDim]} each, rows as in the batch) into their cache slots.
     */
    void storeKv(Activations k, Activations v, AttentionBatch batch, KvLayer kv);

    /**
     * Causal grouped-query attention over the paged cache (which already holds this step's keys and values):
     * the row at position p of a sequence attends to that sequence's positions 0..p. q and out are
     * {@code [rows, qHeads * headDim]}; softmax in float32.
     */
    void attention(Activations q, Activations out, AttentionBatch batch, KvLayer kv);

    /** {@code out[i] = silu(gate[i]) * up[i]} for {@code i < n}, with {@code silu(x) = x / (1 + exp(-x))}. */
    void swiglu(Activations gate, Activations up, int n, Activations out);

    /** {@code acc[i] += x[i]} for {@code i < n}. */
    void add(Activations acc, Activations x, int n);

    /**
     * Makes the weights ready before the first step: a GPU backend uploads them (reporting cumulative bytes to
     * {@code bytesDone}, which may be null); host backends read them in place and do nothing.
     */
    default void prepare(ModelWeights weights, LongConsumer bytesDone) {
    }

    /** Releases threads or device memory; the default has nothing to release. */
    @Override
    default void close() {
    }
}
