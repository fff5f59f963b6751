package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.HostKernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;

/**
 * The reference kernels with CUDA's matmul numerics ({@link GemmNumerics}: the matvec up to 16 tokens or when
 * K % 16 != 0, the tensor-core GEMM path above): the whole model's expected error on a GPU, and with a broken GEMM
 * path, what a broken kernel would do to the logits. Every other op is the reference's.
 */
final class SimulatedCudaKernels extends HostKernels {
    private final ReferenceKernels ref = new ReferenceKernels();
    private final GemmNumerics.Path gemm;

    SimulatedCudaKernels(GemmNumerics.Path gemm) {
        this.gemm = gemm;
    }

    @Override
    public String name() {
        return "simulated cuda (" + gemm + ")";
    }

    @Override
    public void matmul(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out) {
        int n = w.rows();
        int k = w.cols();
        GemmNumerics.Path path = tokens <= CudaKernels.MATVEC_MAX_TOKENS || k % 16 != 0 ? GemmNumerics.Path.MATVEC : gemm;
        float[] b = null;
        if (bias != null) {
            b = new float[n];
            bias.read(0, b);
        }
        float[] xs = x.length == tokens * k ? x : java.util.Arrays.copyOf(x, tokens * k);
        float[] y = GemmNumerics.simulate(path, xs, tokens, w, b, null);
        System.arraycopy(y, 0, out, 0, y.length);
    }

    @Override
    public void embed(WeightTensor table, int[] ids, float[] out) {
        ref.embed(table, ids, out);
    }

    @Override
    public void rmsNorm(float[] x, WeightTensor weight, float eps, int tokens, float[] out) {
        ref.rmsNorm(x, weight, eps, tokens, out);
    }

    @Override
    public void rope(float[] x, int tokens, int heads, int headDim, float[] cos, float[] sin) {
        ref.rope(x, tokens, heads, headDim, cos, sin);
    }

    @Override
    public void storeKv(float[] k, float[] v, AttentionBatch batch, KvLayer kv) {
        ref.storeKv(k, v, batch, kv);
    }

    @Override
    public void attention(float[] q, float[] out, AttentionBatch batch, KvLayer kv) {
        ref.attention(q, out, batch, kv);
    }

    @Override
    public void swiglu(float[] gate, float[] up, int n, float[] out) {
        ref.swiglu(gate, up, n, out);
    }

    @Override
    public void add(float[] acc, float[] x, int n) {
        ref.add(acc, x, n);
    }
}
