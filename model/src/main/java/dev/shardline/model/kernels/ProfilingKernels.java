package dev.shardline.model.kernels;

import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Wraps a backend and adds up wall time and bytes per operation (matmuls by weight shape and token count class),
 * for {@code ./shardline bench --profile}. Adds two {@code System.nanoTime()} calls per operation.
 */
public final class ProfilingKernels implements Kernels {
    private final Kernels inner;
    private final Map<String, long[]> stats = new TreeMap<>();  // op -> {calls, nanos, bytes}

    public ProfilingKernels(Kernels inner) {
        this.inner = inner;
    }

    public Kernels inner() {
        return inner;
    }

    public void reset() {
        stats.clear();
    }

    /** One line per operation: calls, total ms, share of the total, and GB/s of weights read where it applies. */
    public String report() {
        long total = stats.values().stream().mapToLong(s -> s[1]).sum();
        StringBuilder sb = new StringBuilder(String.format("%-34s %8s %10s %6s %8s%n", "op", "calls", "ms", "share", "GB/s"));
        stats.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1])).forEach(e -> {
            long[] s = e.getValue();
            sb.append(String.format("%-34s %8d %10.1f %5.1f%% %8s%n", e.getKey(), s[0], s[1] / 1e6, 100.0 * s[1] / Math.max(1, total),
                    s[2] == 0 ? "" : String.format("%.1f", s[2] / (double) s[1])));
        });
        return sb.toString();
    }

    private void record(String op, long start, long bytes) {
        long[] s = stats.computeIfAbsent(op, k -> new long[3]);
        s[0]++;
        s[1] += System.nanoTime() - start;
        s[2] += bytes;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Activations allocate(long floats) {
        return inner.allocate(floats);
    }

    @Override
    public void write(float[] src, int srcOffset, Activations dst, long dstOffset, int count) {
        long t = System.nanoTime();
        inner.write(src, srcOffset, dst, dstOffset, count);
        record("write", t, 0);
    }

    @Override
    public void read(Activations src, long srcOffset, float[] dst, int dstOffset, int count) {
        long t = System.nanoTime();
        inner.read(src, srcOffset, dst, dstOffset, count);
        record("read", t, 0);
    }

    @Override
    public void copy(Activations src, long srcOffset, Activations dst, long dstOffset, int count) {
        long t = System.nanoTime();
        inner.copy(src, srcOffset, dst, dstOffset, count);
        record("copy", t, 0);
    }

    @Override
    public void embed(WeightTensor table, int[] ids, Activations out) {
        long t = System.nanoTime();
        inner.embed(table, ids, out);
        record("embed", t, 0);
    }

    @Override
    public void rmsNorm(Activations x, WeightTensor weight, float eps, int tokens, Activations out) {
        long t = System.nanoTime();
        inner.rmsNorm(x, weight, eps, tokens, out);
        record("rmsNorm", t, 0);
    }

    @Override
    public void matmul(Activations x, int tokens, WeightTensor w, WeightTensor bias, Activations out) {
        long t = System.nanoTime();
        inner.matmul(x, tokens, w, bias, out);
        record("matmul " + Arrays.toString(w.shape()) + (tokens == 1 ? " x1" : " xN"), t, w.byteSize());
    }

    @Override
    public void rope(Activations x, int tokens, int heads, int headDim, Activations cos, Activations sin) {
        long t = System.nanoTime();
        inner.rope(x, tokens, heads, headDim, cos, sin);
        record("rope", t, 0);
    }

    @Override
    public void storeKv(Activations k, Activations v, AttentionBatch batch, KvLayer kv) {
        long t = System.nanoTime();
        inner.storeKv(k, v, batch, kv);
        record("storeKv", t, 0);
    }

    @Override
    public void attention(Activations q, Activations out, AttentionBatch batch, KvLayer kv) {
        long t = System.nanoTime();
        inner.attention(q, out, batch, kv);
        record("attention", t, 0);
    }

    @Override
    public void swiglu(Activations gate, Activations up, int n, Activations out) {
        long t = System.nanoTime();
        inner.swiglu(gate, up, n, out);
        record("swiglu", t, 0);
    }

    @Override
    public void add(Activations acc, Activations x, int n) {
        long t = System.nanoTime();
        inner.add(acc, x, n);
        record("add", t, 0);
    }

    @Override
    public void close() {
        inner.close();
    }
}
