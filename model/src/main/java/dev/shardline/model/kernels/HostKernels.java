package dev.shardline.model.kernels;

import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;

/**
 * Base of the backends that compute on the Java heap ({@link ReferenceKernels}, {@link VectorKernels}): their
 * {@link Activations} are {@link HostActivations}, so allocation is {@code new float[]}, write/read/copy are
 * {@code System.arraycopy}, and each op unwraps its arrays and calls the {@code float[]} form that the subclass
 * implements (and that tests and benchmarks may call directly).
 */
public abstract class HostKernels implements Kernels {

    /** The largest host buffer: one Java array. */
    static final long MAX_FLOATS = Integer.MAX_VALUE - 16;

    @Override
    public final Activations allocate(long floats) {
        if (floats < 0 || floats > MAX_FLOATS) {
            throw new IllegalArgumentException("cannot allocate " + floats + " floats on backend " + name()
                    + " (one Java array holds at most " + MAX_FLOATS + "); use fewer KV blocks per process");
        }
        return new HostActivations(new float[(int) floats]);
    }

    @Override
    public final void write(float[] src, int srcOffset, Activations dst, long dstOffset, int count) {
        System.arraycopy(src, srcOffset, HostActivations.of(dst), Math.toIntExact(dstOffset), count);
    }

    @Override
    public final void read(Activations src, long srcOffset, float[] dst, int dstOffset, int count) {
        System.arraycopy(HostActivations.of(src), Math.toIntExact(srcOffset), dst, dstOffset, count);
    }

    @Override
    public final void copy(Activations src, long srcOffset, Activations dst, long dstOffset, int count) {
        System.arraycopy(HostActivations.of(src), Math.toIntExact(srcOffset), HostActivations.of(dst),
                Math.toIntExact(dstOffset), count);
    }

    @Override
    public final void embed(WeightTensor table, int[] ids, Activations out) {
        embed(table, ids, HostActivations.of(out));
    }

    @Override
    public final void rmsNorm(Activations x, WeightTensor weight, float eps, int tokens, Activations out) {
        rmsNorm(HostActivations.of(x), weight, eps, tokens, HostActivations.of(out));
    }

    @Override
    public final void matmul(Activations x, int tokens, WeightTensor w, WeightTensor bias, Activations out) {
        matmul(HostActivations.of(x), tokens, w, bias, HostActivations.of(out));
    }

    @Override
    public final void rope(Activations x, int tokens, int heads, int headDim, Activations cos, Activations sin) {
        rope(HostActivations.of(x), tokens, heads, headDim, HostActivations.of(cos), HostActivations.of(sin));
    }

    @Override
    public final void storeKv(Activations k, Activations v, AttentionBatch batch, KvLayer kv) {
        storeKv(HostActivations.of(k), HostActivations.of(v), batch, kv);
    }

    @Override
    public final void attention(Activations q, Activations out, AttentionBatch batch, KvLayer kv) {
        attention(HostActivations.of(q), HostActivations.of(out), batch, kv);
    }

    @Override
    public final void swiglu(Activations gate, Activations up, int n, Activations out) {
        swiglu(HostActivations.of(gate), HostActivations.of(up), n, HostActivations.of(out));
    }

    @Override
    public final void add(Activations acc, Activations x, int n) {
        add(HostActivations.of(acc), HostActivations.of(x), n);
    }

    /** The keys of a layer allocated by a host backend. */
    protected static float[] keys(KvLayer kv) {
        return HostActivations.of(kv.keys());
    }

    /** The values of a layer allocated by a host backend. */
    protected static float[] values(KvLayer kv) {
        return HostActivations.of(kv.values());
    }

    public abstract void embed(WeightTensor table, int[] ids, float[] out);

    public abstract void rmsNorm(float[] x, WeightTensor weight, float eps, int tokens, float[] out);

    public abstract void matmul(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out);

    public abstract void rope(float[] x, int tokens, int heads, int headDim, float[] cos, float[] sin);

    public abstract void storeKv(float[] k, float[] v, AttentionBatch batch, KvLayer kv);

    public abstract void attention(float[] q, float[] out, AttentionBatch batch, KvLayer kv);

    public abstract void swiglu(float[] gate, float[] up, int n, float[] out);

    public abstract void add(float[] acc, float[] x, int n);
}
