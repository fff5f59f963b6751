package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.L;

import dev.shardline.model.tensor.WeightTensor;
import jdk.incubator.vector.FloatVector;

/**
 * The prefill matmul kernel for many tokens: outer products instead of dot products, so no lane reductions.
 *
 * <p>A block of {@link #RB} = 4L weight rows x {@link #KB} columns is widened and transposed once into per-thread
 * scratch ({@code packed[kk * RB + j] = w[r0 + j, kt + kk]}), in the order the microkernel reads it. The
 * microkernel keeps six tokens x four vectors of rows (24 accumulators) in registers; per column it loads four
 * weight vectors, broadcasts six activations and issues 24 FMAs. The accumulators are vectors along the output
 * row: the kernel stores them into a small tile and {@link #addTile} adds it into {@code out[t, r0 .. r0 + RB)}.
 * (The kernels take no vector arguments and call no non-inlined method with vectors: C2 would box the 24
 * accumulators on every iteration, measured 5x slower.)
 */
final class PackedMatmul {
    /** Weight rows per block: four vectors. */
    static final int RB = 4 * L;
    /** Columns per packed tile: RB x KB floats = 256 KiB (with L = 16), which stays in L2. */
    static final int KB = 1024;
    /** Tokens per microkernel call. */
    static final int TB = 6;

    private PackedMatmul() {
    }

    /** Floats of scratch one worker needs. */
    static int scratchFloats() {
        return RB * KB + KB + TB * RB;
    }

    /**
     * {@code out[t, r0 + j] = bias + sum_k x[t, k] w[r0 + j, k]} for all tokens and rows {@code [r0, r0 + RB)}
     * that exist; {@code ws} from {@link #scratchFloats()}.
     */
    static void block(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out, int n, int k, int r0,
                      float[] ws) {
        int rows = Math.min(RB, n - r0);
        int rowTmp = RB * KB;
        int tileTmp = rowTmp + KB;
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < rows; j++) {
                out[t * n + r0 + j] = bias == null ? 0f : bias.get(r0 + j);
            }
        }
        for (int kt = 0; kt < k; kt += KB) {
            int kl = Math.min(KB, k - kt);
            pack(w, r0, rows, k, kt, kl, ws, rowTmp);
            int t = 0;
            for (; t + TB <= tokens; t += TB) {
                kernel6(x, t * k + kt, k, ws, kl, ws, tileTmp);
                addTile(ws, tileTmp, TB, out, t * n + r0, n, rows);
            }
            for (; t < tokens; t++) {
                kernel1(x, t * k + kt, ws, kl, ws, tileTmp);
                addTile(ws, tileTmp, 1, out, t * n + r0, n, rows);
            }
        }
    }

    /** Widens rows [r0, r0 + rows) x columns [kt, kt + kl) into {@code ws[kk * RB + j]}; missing rows are zero. */
    private static void pack(WeightTensor w, int r0, int rows, int k, int kt, int kl, float[] ws, int rowTmp) {
        for (int j = 0; j < rows; j++) {
            VectorOps.widen(w, (long) (r0 + j) * k + kt, kl, ws, rowTmp);
            for (int kk = 0; kk < kl; kk++) {
                ws[kk * RB + j] = ws[rowTmp + kk];
            }
        }
        for (int j = rows; j < RB; j++) {
            for (int kk = 0; kk < kl; kk++) {
                ws[kk * RB + j] = 0f;
            }
        }
    }

    /** Six tokens (x rows at xb, xb + xs, ...) x RB rows over kl packed columns, stored into ws[tile ..]. */
    private static void kernel6(float[] x, int xb, int xs, float[] p, int kl, float[] ws, int tileTmp) {
        int x0 = xb;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        int x4 = x3 + xs;
        int x5 = x4 + xs;
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F), c02 = FloatVector.zero(F), c03 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F), c12 = FloatVector.zero(F), c13 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F), c22 = FloatVector.zero(F), c23 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F), c32 = FloatVector.zero(F), c33 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F), c42 = FloatVector.zero(F), c43 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F), c52 = FloatVector.zero(F), c53 = FloatVector.zero(F);
        for (int kk = 0; kk < kl; kk++) {
            int pw = kk * RB;
            FloatVector w0 = FloatVector.fromArray(F, p, pw);
            FloatVector w1 = FloatVector.fromArray(F, p, pw + L);
            FloatVector w2 = FloatVector.fromArray(F, p, pw + 2 * L);
            FloatVector w3 = FloatVector.fromArray(F, p, pw + 3 * L);
            FloatVector a = FloatVector.broadcast(F, x[x0 + kk]);
            c00 = w0.fma(a, c00);
            c01 = w1.fma(a, c01);
            c02 = w2.fma(a, c02);
            c03 = w3.fma(a, c03);
            a = FloatVector.broadcast(F, x[x1 + kk]);
            c10 = w0.fma(a, c10);
            c11 = w1.fma(a, c11);
            c12 = w2.fma(a, c12);
            c13 = w3.fma(a, c13);
            a = FloatVector.broadcast(F, x[x2 + kk]);
            c20 = w0.fma(a, c20);
            c21 = w1.fma(a, c21);
            c22 = w2.fma(a, c22);
            c23 = w3.fma(a, c23);
            a = FloatVector.broadcast(F, x[x3 + kk]);
            c30 = w0.fma(a, c30);
            c31 = w1.fma(a, c31);
            c32 = w2.fma(a, c32);
            c33 = w3.fma(a, c33);
            a = FloatVector.broadcast(F, x[x4 + kk]);
            c40 = w0.fma(a, c40);
            c41 = w1.fma(a, c41);
            c42 = w2.fma(a, c42);
            c43 = w3.fma(a, c43);
            a = FloatVector.broadcast(F, x[x5 + kk]);
            c50 = w0.fma(a, c50);
            c51 = w1.fma(a, c51);
            c52 = w2.fma(a, c52);
            c53 = w3.fma(a, c53);
        }
        c00.intoArray(ws, tileTmp);
        c01.intoArray(ws, tileTmp + L);
        c02.intoArray(ws, tileTmp + 2 * L);
        c03.intoArray(ws, tileTmp + 3 * L);
        c10.intoArray(ws, tileTmp + 1 * RB);
        c11.intoArray(ws, tileTmp + 1 * RB + L);
        c12.intoArray(ws, tileTmp + 1 * RB + 2 * L);
        c13.intoArray(ws, tileTmp + 1 * RB + 3 * L);
        c20.intoArray(ws, tileTmp + 2 * RB);
        c21.intoArray(ws, tileTmp + 2 * RB + L);
        c22.intoArray(ws, tileTmp + 2 * RB + 2 * L);
        c23.intoArray(ws, tileTmp + 2 * RB + 3 * L);
        c30.intoArray(ws, tileTmp + 3 * RB);
        c31.intoArray(ws, tileTmp + 3 * RB + L);
        c32.intoArray(ws, tileTmp + 3 * RB + 2 * L);
        c33.intoArray(ws, tileTmp + 3 * RB + 3 * L);
        c40.intoArray(ws, tileTmp + 4 * RB);
        c41.intoArray(ws, tileTmp + 4 * RB + L);
        c42.intoArray(ws, tileTmp + 4 * RB + 2 * L);
        c43.intoArray(ws, tileTmp + 4 * RB + 3 * L);
        c50.intoArray(ws, tileTmp + 5 * RB);
        c51.intoArray(ws, tileTmp + 5 * RB + L);
        c52.intoArray(ws, tileTmp + 5 * RB + 2 * L);
        c53.intoArray(ws, tileTmp + 5 * RB + 3 * L);
    }

    /** One token x RB rows; see {@link #kernel6}. */
    private static void kernel1(float[] x, int xb, float[] p, int kl, float[] ws, int tileTmp) {
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        for (int kk = 0; kk < kl; kk++) {
            int pw = kk * RB;
            FloatVector a = FloatVector.broadcast(F, x[xb + kk]);
            c0 = FloatVector.fromArray(F, p, pw).fma(a, c0);
            c1 = FloatVector.fromArray(F, p, pw + L).fma(a, c1);
            c2 = FloatVector.fromArray(F, p, pw + 2 * L).fma(a, c2);
            c3 = FloatVector.fromArray(F, p, pw + 3 * L).fma(a, c3);
        }
        c0.intoArray(ws, tileTmp);
        c1.intoArray(ws, tileTmp + L);
        c2.intoArray(ws, tileTmp + 2 * L);
        c3.intoArray(ws, tileTmp + 3 * L);
    }

    /** {@code out[o + t*n + j] += tile[t*RB + j]} for t < tokens and the first {@code rows} rows. */
    private static void addTile(float[] ws, int tile, int tokens, float[] out, int o, int n, int rows) {
        for (int t = 0; t < tokens; t++) {
            int src = tile + t * RB;
            int dst = o + t * n;
            if (rows == RB) {
                for (int j = 0; j < RB; j += L) {
                    FloatVector.fromArray(F, ws, src + j).add(FloatVector.fromArray(F, out, dst + j))
                            .intoArray(out, dst + j);
                }
            } else {
                for (int j = 0; j < rows; j++) {
                    out[dst + j] += ws[src + j];
                }
            }
        }
    }
}
