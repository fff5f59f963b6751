package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.L;

import dev.shardline.model.host.NativeQuantKernels;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.ModelWeights;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The default CPU backend ("cpu"): the Vector API ({@link FloatVector#SPECIES_PREFERRED}) on a fixed number of
 * threads. Weights are read in place (bf16 widened in registers); matmul and attention run on all threads,
 * the element-wise operations only when the batch is large enough to pay for the hand-off.
 *
 * <p>Not thread-safe: one forward pass calls it at a time. {@link #close()} stops the worker threads.
 */
public final class VectorKernels extends HostKernels {
    /** Element-wise operations below this many floats run on the calling thread only. */
    private static final int PARALLEL_MIN = 1 << 16;

    private final ParallelRunner runner;
    private final CpuMatmul matmul;
    private final CpuAttention attention;

    /**
     * Which matmul kernels a backend runs: the current ones, or (to measure them against, end to end in one
     * session) the previous prefill GEMM, the first one-token quantized kernels, or the previous one-token Q4_K /
     * Q6_K kernels (bytes widened to float lanes, {@link QuantKernels}, instead of {@link QuantLaneKernels}).
     */
    public enum Variant {
        CURRENT, PACKED_PREFILL, FIRST_QUANT_KERNELS, BYTE_QUANT_KERNELS,
        /** The current kernels, but one-token Q4_K / Q6_K / Q8_0 products with int8 activations ({@link NativeQuantKernels}). */
        INT8_PRODUCTS
    }

    private final Variant variant;

    /** A backend on {@code threads} threads (the caller plus {@code threads - 1} workers). */
    public VectorKernels(int threads) {
        this(threads, Variant.CURRENT);
    }

    /** As {@link #VectorKernels(int)}, with the given kernel variant. */
    public VectorKernels(int threads, Variant variant) {
        if (variant == Variant.INT8_PRODUCTS && !NativeQuantKernels.available()) {
            throw new IllegalStateException("backend cpu-int8 cannot run here: "
                    + NativeQuantKernels.unavailableReason().orElseThrow() + "; use backend cpu");
        }
        this.variant = variant;
        this.runner = new ParallelRunner(threads);
        this.matmul = new CpuMatmul(runner, variant != Variant.PACKED_PREFILL, variant == Variant.FIRST_QUANT_KERNELS,
                variant == Variant.BYTE_QUANT_KERNELS, variant == Variant.INT8_PRODUCTS);
        this.attention = new CpuAttention(runner);
    }

    @Override
    public String name() {
        return switch (variant) {
            case CURRENT -> "cpu";
            case PACKED_PREFILL -> "cpu-packed-prefill";
            case FIRST_QUANT_KERNELS -> "cpu-first-quant";
            case BYTE_QUANT_KERNELS -> "cpu-byte-quant";
            case INT8_PRODUCTS -> "cpu-int8";
        };
    }

    public int threads() {
        return runner.threads();
    }

    /**
     * Runs every kernel on small shapes until the JIT has compiled them (about two seconds on 2 cores), so that the first real
     * matmul does not run interpreted Vector API code (~1.5 s for one [27648, 5120] matvec). Optional.
     */
    public void warmUp() {
        KernelWarmup.run(this);
    }

    /**
     * As {@link #warmUp()}, on bytes of {@code weights} (its first layer's q weight, else its lm_head or embedding),
     * so the kernels meet only the kind of memory segment the model's weights are (mapped or copied); then the
     * products of each quantized type the model holds, on a few of its own rows.
     */
    public void warmUp(ModelWeights weights) {
        WeightTensor like = !weights.layers().isEmpty() ? weights.layers().get(0).qWeight()
                : weights.lmHead() != null ? weights.lmHead() : weights.embedding();
        KernelWarmup.run(this, like == null ? null : like.data());
        KernelWarmup.runQuantized(this, weights);
    }

    @Override
    public void embed(WeightTensor table, int[] ids, float[] out) {
        int hidden = table.cols();
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= table.rows()) {
                throw new IllegalArgumentException("token id " + ids[t] + " outside " + table);
            }
            VectorOps.widen(table, (long) ids[t] * hidden, hidden, out, t * hidden);
        }
    }

    @Override
    public void rmsNorm(float[] x, WeightTensor weight, float eps, int tokens, float[] out) {
        int dim = weight.rows();
        forTokens(tokens, dim, t -> rmsNormRow(x, weight, eps, t * dim, dim, out));
    }

    private static void rmsNormRow(float[] x, WeightTensor weight, float eps, int base, int dim, float[] out) {
        int dv = F.loopBound(dim);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < dv; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, base + i);
            acc = v.fma(v, acc);
        }
        double sumSquares = acc.reduceLanes(VectorOperators.ADD);
        for (int i = dv; i < dim; i++) {
            sumSquares += x[base + i] * x[base + i];
        }
        float inv = (float) (1.0 / Math.sqrt(sumSquares / dim + eps));
        MemorySegment seg = weight.data();
        int i = 0;
        if (weight.dtype() == DType.BF16 && x != out) {
            VectorOps.widen(weight, 0, dim, out, base);                  // the weights, then scaled in place
            for (; i < dv; i += L) {
                FloatVector.fromArray(F, x, base + i).mul(inv).mul(FloatVector.fromArray(F, out, base + i))
                        .intoArray(out, base + i);
            }
        } else if (weight.dtype() == DType.F32) {
            for (; i < dv; i += L) {
                FloatVector.fromArray(F, x, base + i).mul(inv).mul(VectorOps.f32(seg, 4L * i)).intoArray(out, base + i);
            }
        }
        for (; i < dim; i++) {
            out[base + i] = x[base + i] * inv * weight.get(i);
        }
    }

    @Override
    public void matmul(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out) {
        matmul.matmul(x, tokens, w, bias, out);
    }

    @Override
    public void rope(float[] x, int tokens, int heads, int headDim, float[] cos, float[] sin) {
        int half = headDim / 2;
        forTokens(tokens, heads * headDim, t -> {
            for (int h = 0; h < heads; h++) {
                ropeHead(x, (t * heads + h) * headDim, half, cos, sin, t * half);
            }
        });
    }

    private static void ropeHead(float[] x, int base, int half, float[] cos, float[] sin, int cs) {
        int dv = F.loopBound(half);
        int d = 0;
        for (; d < dv; d += L) {
            FloatVector a = FloatVector.fromArray(F, x, base + d);
            FloatVector b = FloatVector.fromArray(F, x, base + d + half);
            FloatVector c = FloatVector.fromArray(F, cos, cs + d);
            FloatVector s = FloatVector.fromArray(F, sin, cs + d);
            a.mul(c).sub(b.mul(s)).intoArray(x, base + d);
            b.mul(c).add(a.mul(s)).intoArray(x, base + d + half);
        }
        for (; d < half; d++) {
            float a = x[base + d];
            float b = x[base + d + half];
            float c = cos[cs + d];
            float s = sin[cs + d];
            x[base + d] = a * c - b * s;
            x[base + d + half] = b * c + a * s;
        }
    }

    @Override
    public void storeKv(float[] k, float[] v, AttentionBatch batch, KvLayer kv) {
        int kvDim = kv.kvDim();
        for (SequenceSlice seq : batch.sequences()) {
            for (int i = 0; i < seq.rows(); i++) {
                int row = seq.rowStart() + i;
                int slot = kv.offset(seq.blockTable(), seq.firstPosition() + i);
                System.arraycopy(k, row * kvDim, keys(kv), slot, kvDim);
                System.arraycopy(v, row * kvDim, values(kv), slot, kvDim);
            }
        }
    }

    @Override
    public void attention(float[] q, float[] out, AttentionBatch batch, KvLayer kv) {
        attention.attention(q, out, batch, kv);
    }

    @Override
    public void swiglu(float[] gate, float[] up, int n, float[] out) {
        forRanges(n, (from, to) -> {
            int i = from;
            for (int bound = from + F.loopBound(to - from); i < bound; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, i);
                FloatVector e = g.neg().lanewise(VectorOperators.EXP).add(1f);
                g.div(e).mul(FloatVector.fromArray(F, up, i)).intoArray(out, i);
            }
            for (; i < to; i++) {
                float g = gate[i];
                out[i] = g / (1f + (float) Math.exp(-g)) * up[i];
            }
        });
    }

    @Override
    public void add(float[] acc, float[] x, int n) {
        forRanges(n, (from, to) -> {
            int i = from;
            for (int bound = from + F.loopBound(to - from); i < bound; i += L) {
                FloatVector.fromArray(F, acc, i).add(FloatVector.fromArray(F, x, i)).intoArray(acc, i);
            }
            for (; i < to; i++) {
                acc[i] += x[i];
            }
        });
    }

    @Override
    public void close() {
        runner.close();
    }

    // ---- parallel helpers for the element-wise operations ----

    private interface TokenBody {
        void run(int token);
    }

    private interface RangeBody {
        void run(int from, int to);
    }

    /** Runs body for each token, in parallel when tokens x width is large. */
    private void forTokens(int tokens, int width, TokenBody body) {
        if ((long) tokens * width < PARALLEL_MIN || tokens < 2) {
            for (int t = 0; t < tokens; t++) {
                body.run(t);
            }
            return;
        }
        runner.run(tokens, (t, worker) -> body.run(t));
    }

    /** Runs body over [0, n) in a few contiguous ranges, in parallel when n is large. */
    private void forRanges(int n, RangeBody body) {
        if (n < PARALLEL_MIN) {
            body.run(0, n);
            return;
        }
        int chunks = runner.threads() * 4;
        int per = ((n + chunks - 1) / chunks + 63) & ~63;
        runner.run((n + per - 1) / per, (c, worker) -> body.run(c * per, Math.min(n, c * per + per)));
    }
}
