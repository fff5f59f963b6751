package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.L;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import jdk.incubator.vector.FloatVector;

/**
 * The prefill matmul for many tokens: outer products with the vectors along the tokens, so the weights are never
 * transposed.
 *
 * <p>The activations are transposed once per call into a panel ({@link #panel}): chunks of {@link #CW} = 4L tokens
 * (the last one narrower, padded with zero tokens to a multiple of L), each stored column by column, so
 * {@code panel[c*CW*k + i*cw + t]} is token {@code c*CW + t} at column i. The microkernels keep R rows x V token
 * vectors (24 accumulators, or 12 for a single vector) in registers: per column they load V panel vectors,
 * broadcast R weights and issue R x V FMAs. bf16 weights are read inside the microkernels, where they lie
 * ({@link PanelBf16}); weights of other types (f32, f16, block types) are first widened, a block of {@link #RB}
 * rows x {@link #KB} columns at a time, into per-thread scratch. The accumulators live in a per-thread
 * {@code [RB, Tp]} array between column blocks and are written (transposed, plus bias) into {@code out} once per
 * row block and column pass: the caller runs all row blocks over {@link #passColumns} (at most {@link #KS})
 * columns at a time, so the panel slice that every row block rereads stays in the L3 cache even at K = 27648
 * (measured 132 -> 156 GFLOP/s per CPU second at [5120, 27648], one thread).
 *
 * <p>Measured on Zen 5 (AVX-512, one thread, 128 tokens, CPU time): the 4x6 microkernel on hot data runs at the
 * same-run FMA peak (205-214 against 198-215 GFLOP/s); the whole product at 155-170, against 100-120 for
 * {@link PackedMatmul}, which also transposes every weight (scalar strided stores) while packing. Of the rest, a
 * separate widening pass (weight reads from memory, one short stream per row and column block) took about 10%,
 * which reading bf16 inside the microkernels removes ({@link PanelBf16}). The kernels take no vector arguments and
 * call nothing that takes vectors (C2 would box the accumulators, see {@link PackedMatmul}).
 */
final class PanelMatmul {
    /**
     * Weight rows per block: a multiple of 6, 8 and 12 (the microkernels' row counts); 96 rather than 48 halves the
     * panel's rereads from L3 (measured 155-166 against 147-164 GFLOP/s per CPU second, one thread, same run).
     */
    static final int RB = 96;
    /** Columns per widened block (a multiple of 256, the largest quantized block, and of 2L). */
    static final int KB = 512;
    /**
     * Most columns per pass over all row blocks: the panel's slice of one pass ({@code Tp x KS} floats, 4 MiB for
     * 128 tokens) stays in L3. {@link #passColumns} splits K evenly, so K = 5120 is one pass (measured 1.06-1.08x
     * against passes of 4096 + 1024, two threads, same run); at K = 27648 passes of 4096 to 27648 columns are equal.
     */
    static final int KS = 8192;
    /** Tokens per panel chunk: four vectors. */
    static final int CW = 4 * L;

    private PanelMatmul() {
    }

    /** Columns per pass for K = {@code k}: K split evenly into passes of at most {@link #KS}, whole bf16 blocks. */
    static int passColumns(int k) {
        int passes = (k + KS - 1) / KS;
        int b = PanelBf16.KB;
        return ((k + passes - 1) / passes + b - 1) / b * b;
    }

    /** Tokens rounded up to whole vectors: the panel's and the accumulators' token count. */
    static int paddedTokens(int tokens) {
        return (tokens + L - 1) / L * L;
    }

    /** Floats of scratch one worker needs: the widened block and the accumulators for {@code tokens} tokens. */
    static int scratchFloats(int tokens) {
        return RB * KB + RB * paddedTokens(tokens);
    }

    /** Column blocks of the panel's work split ({@link #panel} is run once per chunk x column block). */
    static int panelUnits(int tokens, int k) {
        return (paddedTokens(tokens) + CW - 1) / CW * ((k + KB - 1) / KB);
    }

    /**
     * Writes unit {@code u} (of {@link #panelUnits}) of the panel of {@code x[tokens, k]} into {@code p}
     * (at least {@code paddedTokens(tokens) * k} floats).
     */
    static void panel(float[] x, int tokens, int k, int u, float[] p) {
        int kBlocks = (k + KB - 1) / KB;
        int c = u / kBlocks;
        int kt = (u % kBlocks) * KB;
        int kl = Math.min(KB, k - kt);
        int tp = paddedTokens(tokens);
        int t0 = c * CW;
        int cw = Math.min(CW, tp - t0);
        int base = t0 * k;
        for (int tt = 0; tt < cw; tt++) {
            int t = t0 + tt;
            if (t >= tokens) {
                for (int i = kt; i < kt + kl; i++) {
                    p[base + i * cw + tt] = 0f;
                }
                continue;
            }
            int row = t * k;
            for (int i = kt; i < kt + kl; i++) {
                p[base + i * cw + tt] = x[row + i];
            }
        }
    }

    /**
     * {@code out[t, r] = bias[r] + sum_k x[t, k] w[r, k]} for all tokens and the rows {@code [r0, r0 + RB)} that
     * exist; {@code p} from {@link #panel}, {@code ws} of {@link #scratchFloats} floats.
     */
    static void block(float[] p, int tokens, WeightTensor w, WeightTensor bias, float[] out, int n, int k, int r0,
                      int k0, int k1, float[] ws) {
        int rows = Math.min(RB, n - r0);
        int tp = paddedTokens(tokens);
        int acc = RB * KB;
        java.util.Arrays.fill(ws, acc, acc + RB * tp, 0f);
        if (w.dtype() == DType.BF16) {
            PanelBf16.accumulate(p, tp, w.data(), k, r0, rows, k0, k1, ws, acc);
        } else {
            widened(p, tp, w, k, r0, rows, k0, k1, ws, acc);
        }
        if (k0 == 0 && bias != null) {
            for (int j = 0; j < rows; j++) {
                ws[j] = bias.get(r0 + j);                 // ws[0, RB * KB) is free once the block is accumulated
            }
            for (int t = 0; t < tokens; t++) {
                int o = t * n + r0;
                int a = acc + t;
                for (int j = 0; j < rows; j++) {
                    out[o + j] = ws[a + j * tp] + ws[j];
                }
            }
        } else if (k0 == 0) {
            for (int t = 0; t < tokens; t++) {
                int o = t * n + r0;
                int a = acc + t;
                for (int j = 0; j < rows; j++) {
                    out[o + j] = ws[a + j * tp];
                }
            }
        } else {
            for (int t = 0; t < tokens; t++) {
                int o = t * n + r0;
                int a = acc + t;
                for (int j = 0; j < rows; j++) {
                    out[o + j] += ws[a + j * tp];
                }
            }
        }
    }

    /** The accumulation for weights of other types: each block widened (dequantized) into {@code ws} first. */
    private static void widened(float[] p, int tp, WeightTensor w, int k, int r0, int rows, int k0, int k1, float[] ws,
                                int acc) {
        for (int kt = k0; kt < k1; kt += KB) {
            int kl = Math.min(KB, k1 - kt);
            for (int j = 0; j < rows; j++) {
                VectorOps.widen(w, (long) (r0 + j) * k + kt, kl, ws, j * kl);
            }
            java.util.Arrays.fill(ws, rows * kl, RB * kl, 0f);
            for (int t0 = 0; t0 < tp; t0 += CW) {
                int cw = Math.min(CW, tp - t0);
                int pb = t0 * k + kt * cw;
                int v = cw / L;
                if (v == 4) {
                    for (int g = 0; g < RB; g += 6) {
                        k4x6(p, pb, ws, g * kl, kl, ws, acc + g * tp + t0, tp);
                    }
                } else if (v == 3) {
                    for (int g = 0; g < RB; g += 8) {
                        k3x8(p, pb, ws, g * kl, kl, ws, acc + g * tp + t0, tp);
                    }
                } else if (v == 2) {
                    for (int g = 0; g < RB; g += 12) {
                        k2x12(p, pb, ws, g * kl, kl, ws, acc + g * tp + t0, tp);
                    }
                } else {
                    for (int g = 0; g < RB; g += 12) {
                        k1x12(p, pb, ws, g * kl, kl, ws, acc + g * tp + t0, tp);
                    }
                }
            }
        }
    }

    /** Four token vectors (panel stride 4L) x six rows (weights at w0, w0 + kl, ...). */
    static void k4x6(float[] p, int pb, float[] w, int w0, int kl, float[] a, int ab, int as) {
        final int cw = 4 * L;
        int a0 = ab, a1 = a0 + as, a2 = a1 + as, a3 = a2 + as, a4 = a3 + as, a5 = a4 + as;
        FloatVector c00 = FloatVector.fromArray(F, a, a0), c01 = FloatVector.fromArray(F, a, a0 + L);
        FloatVector c02 = FloatVector.fromArray(F, a, a0 + 2 * L), c03 = FloatVector.fromArray(F, a, a0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, a, a1), c11 = FloatVector.fromArray(F, a, a1 + L);
        FloatVector c12 = FloatVector.fromArray(F, a, a1 + 2 * L), c13 = FloatVector.fromArray(F, a, a1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(F, a, a2), c21 = FloatVector.fromArray(F, a, a2 + L);
        FloatVector c22 = FloatVector.fromArray(F, a, a2 + 2 * L), c23 = FloatVector.fromArray(F, a, a2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(F, a, a3), c31 = FloatVector.fromArray(F, a, a3 + L);
        FloatVector c32 = FloatVector.fromArray(F, a, a3 + 2 * L), c33 = FloatVector.fromArray(F, a, a3 + 3 * L);
        FloatVector c40 = FloatVector.fromArray(F, a, a4), c41 = FloatVector.fromArray(F, a, a4 + L);
        FloatVector c42 = FloatVector.fromArray(F, a, a4 + 2 * L), c43 = FloatVector.fromArray(F, a, a4 + 3 * L);
        FloatVector c50 = FloatVector.fromArray(F, a, a5), c51 = FloatVector.fromArray(F, a, a5 + L);
        FloatVector c52 = FloatVector.fromArray(F, a, a5 + 2 * L), c53 = FloatVector.fromArray(F, a, a5 + 3 * L);
        int r0 = w0, r1 = r0 + kl, r2 = r1 + kl, r3 = r2 + kl, r4 = r3 + kl, r5 = r4 + kl;
        for (int kk = 0; kk < kl; kk++) {
            int pi = pb + kk * cw;
            FloatVector x0 = FloatVector.fromArray(F, p, pi);
            FloatVector x1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector x2 = FloatVector.fromArray(F, p, pi + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, p, pi + 3 * L);
            FloatVector b = FloatVector.broadcast(F, w[r0 + kk]);
            c00 = x0.fma(b, c00);
            c01 = x1.fma(b, c01);
            c02 = x2.fma(b, c02);
            c03 = x3.fma(b, c03);
            b = FloatVector.broadcast(F, w[r1 + kk]);
            c10 = x0.fma(b, c10);
            c11 = x1.fma(b, c11);
            c12 = x2.fma(b, c12);
            c13 = x3.fma(b, c13);
            b = FloatVector.broadcast(F, w[r2 + kk]);
            c20 = x0.fma(b, c20);
            c21 = x1.fma(b, c21);
            c22 = x2.fma(b, c22);
            c23 = x3.fma(b, c23);
            b = FloatVector.broadcast(F, w[r3 + kk]);
            c30 = x0.fma(b, c30);
            c31 = x1.fma(b, c31);
            c32 = x2.fma(b, c32);
            c33 = x3.fma(b, c33);
            b = FloatVector.broadcast(F, w[r4 + kk]);
            c40 = x0.fma(b, c40);
            c41 = x1.fma(b, c41);
            c42 = x2.fma(b, c42);
            c43 = x3.fma(b, c43);
            b = FloatVector.broadcast(F, w[r5 + kk]);
            c50 = x0.fma(b, c50);
            c51 = x1.fma(b, c51);
            c52 = x2.fma(b, c52);
            c53 = x3.fma(b, c53);
        }
        c00.intoArray(a, a0); c01.intoArray(a, a0 + L); c02.intoArray(a, a0 + 2 * L); c03.intoArray(a, a0 + 3 * L);
        c10.intoArray(a, a1); c11.intoArray(a, a1 + L); c12.intoArray(a, a1 + 2 * L); c13.intoArray(a, a1 + 3 * L);
        c20.intoArray(a, a2); c21.intoArray(a, a2 + L); c22.intoArray(a, a2 + 2 * L); c23.intoArray(a, a2 + 3 * L);
        c30.intoArray(a, a3); c31.intoArray(a, a3 + L); c32.intoArray(a, a3 + 2 * L); c33.intoArray(a, a3 + 3 * L);
        c40.intoArray(a, a4); c41.intoArray(a, a4 + L); c42.intoArray(a, a4 + 2 * L); c43.intoArray(a, a4 + 3 * L);
        c50.intoArray(a, a5); c51.intoArray(a, a5 + L); c52.intoArray(a, a5 + 2 * L); c53.intoArray(a, a5 + 3 * L);
    }

    /** Three token vectors (panel stride 3L) x eight rows. */
    static void k3x8(float[] p, int pb, float[] w, int w0, int kl, float[] a, int ab, int as) {
        final int cw = 3 * L;
        int a0 = ab, a1 = a0 + as, a2 = a1 + as, a3 = a2 + as, a4 = a3 + as, a5 = a4 + as, a6 = a5 + as, a7 = a6 + as;
        FloatVector c00 = FloatVector.fromArray(F, a, a0), c01 = FloatVector.fromArray(F, a, a0 + L), c02 = FloatVector.fromArray(F, a, a0 + 2 * L);
        FloatVector c10 = FloatVector.fromArray(F, a, a1), c11 = FloatVector.fromArray(F, a, a1 + L), c12 = FloatVector.fromArray(F, a, a1 + 2 * L);
        FloatVector c20 = FloatVector.fromArray(F, a, a2), c21 = FloatVector.fromArray(F, a, a2 + L), c22 = FloatVector.fromArray(F, a, a2 + 2 * L);
        FloatVector c30 = FloatVector.fromArray(F, a, a3), c31 = FloatVector.fromArray(F, a, a3 + L), c32 = FloatVector.fromArray(F, a, a3 + 2 * L);
        FloatVector c40 = FloatVector.fromArray(F, a, a4), c41 = FloatVector.fromArray(F, a, a4 + L), c42 = FloatVector.fromArray(F, a, a4 + 2 * L);
        FloatVector c50 = FloatVector.fromArray(F, a, a5), c51 = FloatVector.fromArray(F, a, a5 + L), c52 = FloatVector.fromArray(F, a, a5 + 2 * L);
        FloatVector c60 = FloatVector.fromArray(F, a, a6), c61 = FloatVector.fromArray(F, a, a6 + L), c62 = FloatVector.fromArray(F, a, a6 + 2 * L);
        FloatVector c70 = FloatVector.fromArray(F, a, a7), c71 = FloatVector.fromArray(F, a, a7 + L), c72 = FloatVector.fromArray(F, a, a7 + 2 * L);
        int r0 = w0, r1 = r0 + kl, r2 = r1 + kl, r3 = r2 + kl, r4 = r3 + kl, r5 = r4 + kl, r6 = r5 + kl, r7 = r6 + kl;
        for (int kk = 0; kk < kl; kk++) {
            int pi = pb + kk * cw;
            FloatVector x0 = FloatVector.fromArray(F, p, pi);
            FloatVector x1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector x2 = FloatVector.fromArray(F, p, pi + 2 * L);
            FloatVector b = FloatVector.broadcast(F, w[r0 + kk]);
            c00 = x0.fma(b, c00);
            c01 = x1.fma(b, c01);
            c02 = x2.fma(b, c02);
            b = FloatVector.broadcast(F, w[r1 + kk]);
            c10 = x0.fma(b, c10);
            c11 = x1.fma(b, c11);
            c12 = x2.fma(b, c12);
            b = FloatVector.broadcast(F, w[r2 + kk]);
            c20 = x0.fma(b, c20);
            c21 = x1.fma(b, c21);
            c22 = x2.fma(b, c22);
            b = FloatVector.broadcast(F, w[r3 + kk]);
            c30 = x0.fma(b, c30);
            c31 = x1.fma(b, c31);
            c32 = x2.fma(b, c32);
            b = FloatVector.broadcast(F, w[r4 + kk]);
            c40 = x0.fma(b, c40);
            c41 = x1.fma(b, c41);
            c42 = x2.fma(b, c42);
            b = FloatVector.broadcast(F, w[r5 + kk]);
            c50 = x0.fma(b, c50);
            c51 = x1.fma(b, c51);
            c52 = x2.fma(b, c52);
            b = FloatVector.broadcast(F, w[r6 + kk]);
            c60 = x0.fma(b, c60);
            c61 = x1.fma(b, c61);
            c62 = x2.fma(b, c62);
            b = FloatVector.broadcast(F, w[r7 + kk]);
            c70 = x0.fma(b, c70);
            c71 = x1.fma(b, c71);
            c72 = x2.fma(b, c72);
        }
        c00.intoArray(a, a0); c01.intoArray(a, a0 + L); c02.intoArray(a, a0 + 2 * L);
        c10.intoArray(a, a1); c11.intoArray(a, a1 + L); c12.intoArray(a, a1 + 2 * L);
        c20.intoArray(a, a2); c21.intoArray(a, a2 + L); c22.intoArray(a, a2 + 2 * L);
        c30.intoArray(a, a3); c31.intoArray(a, a3 + L); c32.intoArray(a, a3 + 2 * L);
        c40.intoArray(a, a4); c41.intoArray(a, a4 + L); c42.intoArray(a, a4 + 2 * L);
        c50.intoArray(a, a5); c51.intoArray(a, a5 + L); c52.intoArray(a, a5 + 2 * L);
        c60.intoArray(a, a6); c61.intoArray(a, a6 + L); c62.intoArray(a, a6 + 2 * L);
        c70.intoArray(a, a7); c71.intoArray(a, a7 + L); c72.intoArray(a, a7 + 2 * L);
    }

    /** Two token vectors (panel stride 2L) x twelve rows. */
    static void k2x12(float[] p, int pb, float[] w, int w0, int kl, float[] a, int ab, int as) {
        final int cw = 2 * L;
        int a0 = ab, a1 = a0 + as, a2 = a1 + as, a3 = a2 + as, a4 = a3 + as, a5 = a4 + as;
        int a6 = a5 + as, a7 = a6 + as, a8 = a7 + as, a9 = a8 + as, a10 = a9 + as, a11 = a10 + as;
        FloatVector c00 = FloatVector.fromArray(F, a, a0), c01 = FloatVector.fromArray(F, a, a0 + L);
        FloatVector c10 = FloatVector.fromArray(F, a, a1), c11 = FloatVector.fromArray(F, a, a1 + L);
        FloatVector c20 = FloatVector.fromArray(F, a, a2), c21 = FloatVector.fromArray(F, a, a2 + L);
        FloatVector c30 = FloatVector.fromArray(F, a, a3), c31 = FloatVector.fromArray(F, a, a3 + L);
        FloatVector c40 = FloatVector.fromArray(F, a, a4), c41 = FloatVector.fromArray(F, a, a4 + L);
        FloatVector c50 = FloatVector.fromArray(F, a, a5), c51 = FloatVector.fromArray(F, a, a5 + L);
        FloatVector c60 = FloatVector.fromArray(F, a, a6), c61 = FloatVector.fromArray(F, a, a6 + L);
        FloatVector c70 = FloatVector.fromArray(F, a, a7), c71 = FloatVector.fromArray(F, a, a7 + L);
        FloatVector c80 = FloatVector.fromArray(F, a, a8), c81 = FloatVector.fromArray(F, a, a8 + L);
        FloatVector c90 = FloatVector.fromArray(F, a, a9), c91 = FloatVector.fromArray(F, a, a9 + L);
        FloatVector cA0 = FloatVector.fromArray(F, a, a10), cA1 = FloatVector.fromArray(F, a, a10 + L);
        FloatVector cB0 = FloatVector.fromArray(F, a, a11), cB1 = FloatVector.fromArray(F, a, a11 + L);
        int r0 = w0, r1 = r0 + kl, r2 = r1 + kl, r3 = r2 + kl, r4 = r3 + kl, r5 = r4 + kl;
        int r6 = r5 + kl, r7 = r6 + kl, r8 = r7 + kl, r9 = r8 + kl, r10 = r9 + kl, r11 = r10 + kl;
        for (int kk = 0; kk < kl; kk++) {
            int pi = pb + kk * cw;
            FloatVector x0 = FloatVector.fromArray(F, p, pi);
            FloatVector x1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector b = FloatVector.broadcast(F, w[r0 + kk]);
            c00 = x0.fma(b, c00);
            c01 = x1.fma(b, c01);
            b = FloatVector.broadcast(F, w[r1 + kk]);
            c10 = x0.fma(b, c10);
            c11 = x1.fma(b, c11);
            b = FloatVector.broadcast(F, w[r2 + kk]);
            c20 = x0.fma(b, c20);
            c21 = x1.fma(b, c21);
            b = FloatVector.broadcast(F, w[r3 + kk]);
            c30 = x0.fma(b, c30);
            c31 = x1.fma(b, c31);
            b = FloatVector.broadcast(F, w[r4 + kk]);
            c40 = x0.fma(b, c40);
            c41 = x1.fma(b, c41);
            b = FloatVector.broadcast(F, w[r5 + kk]);
            c50 = x0.fma(b, c50);
            c51 = x1.fma(b, c51);
            b = FloatVector.broadcast(F, w[r6 + kk]);
            c60 = x0.fma(b, c60);
            c61 = x1.fma(b, c61);
            b = FloatVector.broadcast(F, w[r7 + kk]);
            c70 = x0.fma(b, c70);
            c71 = x1.fma(b, c71);
            b = FloatVector.broadcast(F, w[r8 + kk]);
            c80 = x0.fma(b, c80);
            c81 = x1.fma(b, c81);
            b = FloatVector.broadcast(F, w[r9 + kk]);
            c90 = x0.fma(b, c90);
            c91 = x1.fma(b, c91);
            b = FloatVector.broadcast(F, w[r10 + kk]);
            cA0 = x0.fma(b, cA0);
            cA1 = x1.fma(b, cA1);
            b = FloatVector.broadcast(F, w[r11 + kk]);
            cB0 = x0.fma(b, cB0);
            cB1 = x1.fma(b, cB1);
        }
        c00.intoArray(a, a0); c01.intoArray(a, a0 + L);
        c10.intoArray(a, a1); c11.intoArray(a, a1 + L);
        c20.intoArray(a, a2); c21.intoArray(a, a2 + L);
        c30.intoArray(a, a3); c31.intoArray(a, a3 + L);
        c40.intoArray(a, a4); c41.intoArray(a, a4 + L);
        c50.intoArray(a, a5); c51.intoArray(a, a5 + L);
        c60.intoArray(a, a6); c61.intoArray(a, a6 + L);
        c70.intoArray(a, a7); c71.intoArray(a, a7 + L);
        c80.intoArray(a, a8); c81.intoArray(a, a8 + L);
        c90.intoArray(a, a9); c91.intoArray(a, a9 + L);
        cA0.intoArray(a, a10); cA1.intoArray(a, a10 + L);
        cB0.intoArray(a, a11); cB1.intoArray(a, a11 + L);
    }

    /** One token vector (panel stride L) x twelve rows. */
    static void k1x12(float[] p, int pb, float[] w, int w0, int kl, float[] a, int ab, int as) {
        final int cw = L;
        int a0 = ab, a1 = a0 + as, a2 = a1 + as, a3 = a2 + as, a4 = a3 + as, a5 = a4 + as;
        int a6 = a5 + as, a7 = a6 + as, a8 = a7 + as, a9 = a8 + as, a10 = a9 + as, a11 = a10 + as;
        FloatVector c0 = FloatVector.fromArray(F, a, a0), c1 = FloatVector.fromArray(F, a, a1);
        FloatVector c2 = FloatVector.fromArray(F, a, a2), c3 = FloatVector.fromArray(F, a, a3);
        FloatVector c4 = FloatVector.fromArray(F, a, a4), c5 = FloatVector.fromArray(F, a, a5);
        FloatVector c6 = FloatVector.fromArray(F, a, a6), c7 = FloatVector.fromArray(F, a, a7);
        FloatVector c8 = FloatVector.fromArray(F, a, a8), c9 = FloatVector.fromArray(F, a, a9);
        FloatVector cA = FloatVector.fromArray(F, a, a10), cB = FloatVector.fromArray(F, a, a11);
        int r0 = w0, r1 = r0 + kl, r2 = r1 + kl, r3 = r2 + kl, r4 = r3 + kl, r5 = r4 + kl;
        int r6 = r5 + kl, r7 = r6 + kl, r8 = r7 + kl, r9 = r8 + kl, r10 = r9 + kl, r11 = r10 + kl;
        for (int kk = 0; kk < kl; kk++) {
            FloatVector x0 = FloatVector.fromArray(F, p, pb + kk * cw);
            c0 = x0.fma(FloatVector.broadcast(F, w[r0 + kk]), c0);
            c1 = x0.fma(FloatVector.broadcast(F, w[r1 + kk]), c1);
            c2 = x0.fma(FloatVector.broadcast(F, w[r2 + kk]), c2);
            c3 = x0.fma(FloatVector.broadcast(F, w[r3 + kk]), c3);
            c4 = x0.fma(FloatVector.broadcast(F, w[r4 + kk]), c4);
            c5 = x0.fma(FloatVector.broadcast(F, w[r5 + kk]), c5);
            c6 = x0.fma(FloatVector.broadcast(F, w[r6 + kk]), c6);
            c7 = x0.fma(FloatVector.broadcast(F, w[r7 + kk]), c7);
            c8 = x0.fma(FloatVector.broadcast(F, w[r8 + kk]), c8);
            c9 = x0.fma(FloatVector.broadcast(F, w[r9 + kk]), c9);
            cA = x0.fma(FloatVector.broadcast(F, w[r10 + kk]), cA);
            cB = x0.fma(FloatVector.broadcast(F, w[r11 + kk]), cB);
        }
        c0.intoArray(a, a0); c1.intoArray(a, a1); c2.intoArray(a, a2); c3.intoArray(a, a3);
        c4.intoArray(a, a4); c5.intoArray(a, a5); c6.intoArray(a, a6); c7.intoArray(a, a7);
        c8.intoArray(a, a8); c9.intoArray(a, a9); cA.intoArray(a, a10); cB.intoArray(a, a11);
    }
}
