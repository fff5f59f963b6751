package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The register-blocked inner kernels of the prefill matmul: dot products of a few activation rows with a few
 * widened weight rows over one K tile, added into {@code out}. Vectorised over K; the K tail is scalar.
 */
final class TileKernels {

    private TileKernels() {
    }

    /**
     * Four tokens x four weight rows: {@code out[ob + i*n + j] += dot(x[xb + i*xs ..], wt[wb + j*kl ..])} over
     * {@code kl} columns, for i < 4 and j < min(4, validRows); padded weight rows are computed but not stored.
     */
    static void kernel4x4(float[] x, int xb, int xs, float[] wt, int wb, int kl, float[] out, int ob, int n,
                          int validRows) {
        int x0 = xb;
        int x1 = xb + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        int w0 = wb;
        int w1 = wb + kl;
        int w2 = w1 + kl;
        int w3 = w2 + kl;
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F), c02 = FloatVector.zero(F), c03 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F), c12 = FloatVector.zero(F), c13 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F), c22 = FloatVector.zero(F), c23 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F), c32 = FloatVector.zero(F), c33 = FloatVector.zero(F);
        int kv = F.loopBound(kl);
        for (int i = 0; i < kv; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, wt, w0 + i);
            FloatVector v1 = FloatVector.fromArray(F, wt, w1 + i);
            FloatVector v2 = FloatVector.fromArray(F, wt, w2 + i);
            FloatVector v3 = FloatVector.fromArray(F, wt, w3 + i);
            FloatVector a = FloatVector.fromArray(F, x, x0 + i);
            c00 = v0.fma(a, c00);
            c01 = v1.fma(a, c01);
            c02 = v2.fma(a, c02);
            c03 = v3.fma(a, c03);
            a = FloatVector.fromArray(F, x, x1 + i);
            c10 = v0.fma(a, c10);
            c11 = v1.fma(a, c11);
            c12 = v2.fma(a, c12);
            c13 = v3.fma(a, c13);
            a = FloatVector.fromArray(F, x, x2 + i);
            c20 = v0.fma(a, c20);
            c21 = v1.fma(a, c21);
            c22 = v2.fma(a, c22);
            c23 = v3.fma(a, c23);
            a = FloatVector.fromArray(F, x, x3 + i);
            c30 = v0.fma(a, c30);
            c31 = v1.fma(a, c31);
            c32 = v2.fma(a, c32);
            c33 = v3.fma(a, c33);
        }
        int o1 = ob + n;
        int o2 = o1 + n;
        int o3 = o2 + n;
        store(out, ob, validRows, sum(c00, x, x0, wt, w0, kv, kl), sum(c01, x, x0, wt, w1, kv, kl),
                sum(c02, x, x0, wt, w2, kv, kl), sum(c03, x, x0, wt, w3, kv, kl));
        store(out, o1, validRows, sum(c10, x, x1, wt, w0, kv, kl), sum(c11, x, x1, wt, w1, kv, kl),
                sum(c12, x, x1, wt, w2, kv, kl), sum(c13, x, x1, wt, w3, kv, kl));
        store(out, o2, validRows, sum(c20, x, x2, wt, w0, kv, kl), sum(c21, x, x2, wt, w1, kv, kl),
                sum(c22, x, x2, wt, w2, kv, kl), sum(c23, x, x2, wt, w3, kv, kl));
        store(out, o3, validRows, sum(c30, x, x3, wt, w0, kv, kl), sum(c31, x, x3, wt, w1, kv, kl),
                sum(c32, x, x3, wt, w2, kv, kl), sum(c33, x, x3, wt, w3, kv, kl));
    }

    /** One token x four weight rows; see {@link #kernel4x4}. */
    static void kernel1x4(float[] x, int xb, float[] wt, int wb, int kl, float[] out, int ob, int validRows) {
        int w0 = wb;
        int w1 = wb + kl;
        int w2 = w1 + kl;
        int w3 = w2 + kl;
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        int kv = F.loopBound(kl);
        for (int i = 0; i < kv; i += L) {
            FloatVector a = FloatVector.fromArray(F, x, xb + i);
            c0 = FloatVector.fromArray(F, wt, w0 + i).fma(a, c0);
            c1 = FloatVector.fromArray(F, wt, w1 + i).fma(a, c1);
            c2 = FloatVector.fromArray(F, wt, w2 + i).fma(a, c2);
            c3 = FloatVector.fromArray(F, wt, w3 + i).fma(a, c3);
        }
        store(out, ob, validRows, sum(c0, x, xb, wt, w0, kv, kl), sum(c1, x, xb, wt, w1, kv, kl),
                sum(c2, x, xb, wt, w2, kv, kl), sum(c3, x, xb, wt, w3, kv, kl));
    }

    /** Lanes of {@code acc} plus the scalar tail {@code [kv, kl)} of the dot product. */
    private static float sum(FloatVector acc, float[] x, int xo, float[] wt, int wo, int kv, int kl) {
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (int i = kv; i < kl; i++) {
            s += x[xo + i] * wt[wo + i];
        }
        return s;
    }

    private static void store(float[] out, int o, int validRows, float s0, float s1, float s2, float s3) {
        out[o] += s0;
        if (validRows > 1) {
            out[o + 1] += s1;
        }
        if (validRows > 2) {
            out[o + 2] += s2;
        }
        if (validRows > 3) {
            out[o + 3] += s3;
        }
    }
}
