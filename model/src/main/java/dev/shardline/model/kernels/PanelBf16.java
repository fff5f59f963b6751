package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * {@link PanelMatmul}'s row block for bf16 weights, with the weights read where they lie: the microkernels load
 * each bf16 weight as a short, shift it into a float and broadcast it, so there is no widening pass and no widened
 * copy in scratch. The loads are independent of the FMAs, so their memory latency overlaps the arithmetic that
 * the separate widening pass left exposed (it took about 10% of the product). Measured against widening (one run,
 * Zen 5, 128 tokens, QwQ shapes): 1.06-1.07x on one thread, 1.09-1.12x on two; see docs/PERFORMANCE.md.
 *
 * <p>The panel is in natural column order. A group of R rows that runs past the block's last row repeats the
 * last row (its extra accumulators are never written out), so partial blocks need no separate kernels. Each
 * microkernel call covers {@link #KB} columns: 2 KiB of each of its rows, read as R sequential streams.
 */
final class PanelBf16 {
    /** Columns per microkernel call (measured: 1024 beats 256 and 512 by 3-5%, 2048 and 4096 are slower). */
    static final int KB = 1024;

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private PanelBf16() {
    }

    /**
     * Adds {@code sum_k x[t, k] w[r, k]} over columns {@code [k0, k1)} to the accumulators {@code a[ab + j * tp + t]}
     * for rows {@code r0 + j}, {@code j < rows}; {@code p} from {@link PanelMatmul#panel}, {@code tp} the padded
     * tokens, {@code a} with room for {@link PanelMatmul#RB} rows.
     */
    static void accumulate(float[] p, int tp, MemorySegment w, int k, int r0, int rows, int k0, int k1, float[] a,
                           int ab) {
        long rb = 2L * k;
        for (int kt = k0; kt < k1; kt += KB) {
            int kl = Math.min(KB, k1 - kt);
            for (int t0 = 0; t0 < tp; t0 += PanelMatmul.CW) {
                int cw = Math.min(PanelMatmul.CW, tp - t0);
                int pb = t0 * k + kt * cw;
                int v = cw / L;
                int step = v == 4 ? 6 : v == 3 ? 8 : 12;
                for (int g = 0; g < rows; g += step) {
                    long w0 = (r0 + g) * rb + 2L * kt;
                    int last = rows - 1 - g;
                    int acc = ab + g * tp + t0;
                    switch (v) {
                        case 4 -> k4x6(p, pb, w, w0, rb, last, kl, a, acc, tp);
                        case 3 -> k3x8(p, pb, w, w0, rb, last, kl, a, acc, tp);
                        case 2 -> k2x12(p, pb, w, w0, rb, last, kl, a, acc, tp);
                        default -> k1x12(p, pb, w, w0, rb, last, kl, a, acc, tp);
                    }
                }
            }
        }
    }

    /** Four token vectors (panel stride 4L) x six rows (bf16 rows at byte offsets w0, w0 + rb, ...). */
    private static void k4x6(float[] p, int pb, MemorySegment w, long w0, long rb, int last, int kl, float[] a, int ab, int as) {
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
        long r0 = w0, r1 = w0 + Math.min(1, last) * rb, r2 = w0 + Math.min(2, last) * rb;
        long r3 = w0 + Math.min(3, last) * rb, r4 = w0 + Math.min(4, last) * rb, r5 = w0 + Math.min(5, last) * rb;
        for (int kk = 0; kk < kl; kk++) {
            int pi = pb + kk * cw;
            FloatVector x0 = FloatVector.fromArray(F, p, pi);
            FloatVector x1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector x2 = FloatVector.fromArray(F, p, pi + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, p, pi + 3 * L);
            FloatVector b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r0 + 2L * kk) << 16));
            c00 = x0.fma(b, c00);
            c01 = x1.fma(b, c01);
            c02 = x2.fma(b, c02);
            c03 = x3.fma(b, c03);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r1 + 2L * kk) << 16));
            c10 = x0.fma(b, c10);
            c11 = x1.fma(b, c11);
            c12 = x2.fma(b, c12);
            c13 = x3.fma(b, c13);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r2 + 2L * kk) << 16));
            c20 = x0.fma(b, c20);
            c21 = x1.fma(b, c21);
            c22 = x2.fma(b, c22);
            c23 = x3.fma(b, c23);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r3 + 2L * kk) << 16));
            c30 = x0.fma(b, c30);
            c31 = x1.fma(b, c31);
            c32 = x2.fma(b, c32);
            c33 = x3.fma(b, c33);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r4 + 2L * kk) << 16));
            c40 = x0.fma(b, c40);
            c41 = x1.fma(b, c41);
            c42 = x2.fma(b, c42);
            c43 = x3.fma(b, c43);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r5 + 2L * kk) << 16));
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
    private static void k3x8(float[] p, int pb, MemorySegment w, long w0, long rb, int last, int kl, float[] a, int ab, int as) {
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
        long r0 = w0, r1 = w0 + Math.min(1, last) * rb, r2 = w0 + Math.min(2, last) * rb;
        long r3 = w0 + Math.min(3, last) * rb, r4 = w0 + Math.min(4, last) * rb, r5 = w0 + Math.min(5, last) * rb;
        long r6 = w0 + Math.min(6, last) * rb, r7 = w0 + Math.min(7, last) * rb;
        for (int kk = 0; kk < kl; kk++) {
            int pi = pb + kk * cw;
            FloatVector x0 = FloatVector.fromArray(F, p, pi);
            FloatVector x1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector x2 = FloatVector.fromArray(F, p, pi + 2 * L);
            FloatVector b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r0 + 2L * kk) << 16));
            c00 = x0.fma(b, c00);
            c01 = x1.fma(b, c01);
            c02 = x2.fma(b, c02);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r1 + 2L * kk) << 16));
            c10 = x0.fma(b, c10);
            c11 = x1.fma(b, c11);
            c12 = x2.fma(b, c12);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r2 + 2L * kk) << 16));
            c20 = x0.fma(b, c20);
            c21 = x1.fma(b, c21);
            c22 = x2.fma(b, c22);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r3 + 2L * kk) << 16));
            c30 = x0.fma(b, c30);
            c31 = x1.fma(b, c31);
            c32 = x2.fma(b, c32);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r4 + 2L * kk) << 16));
            c40 = x0.fma(b, c40);
            c41 = x1.fma(b, c41);
            c42 = x2.fma(b, c42);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r5 + 2L * kk) << 16));
            c50 = x0.fma(b, c50);
            c51 = x1.fma(b, c51);
            c52 = x2.fma(b, c52);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r6 + 2L * kk) << 16));
            c60 = x0.fma(b, c60);
            c61 = x1.fma(b, c61);
            c62 = x2.fma(b, c62);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r7 + 2L * kk) << 16));
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
    private static void k2x12(float[] p, int pb, MemorySegment w, long w0, long rb, int last, int kl, float[] a, int ab, int as) {
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
        long r0 = w0, r1 = w0 + Math.min(1, last) * rb, r2 = w0 + Math.min(2, last) * rb;
        long r3 = w0 + Math.min(3, last) * rb, r4 = w0 + Math.min(4, last) * rb, r5 = w0 + Math.min(5, last) * rb;
        long r6 = w0 + Math.min(6, last) * rb, r7 = w0 + Math.min(7, last) * rb, r8 = w0 + Math.min(8, last) * rb, r9 = w0 + Math.min(9, last) * rb, r10 = w0 + Math.min(10, last) * rb, r11 = w0 + Math.min(11, last) * rb;
        for (int kk = 0; kk < kl; kk++) {
            int pi = pb + kk * cw;
            FloatVector x0 = FloatVector.fromArray(F, p, pi);
            FloatVector x1 = FloatVector.fromArray(F, p, pi + L);
            FloatVector b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r0 + 2L * kk) << 16));
            c00 = x0.fma(b, c00);
            c01 = x1.fma(b, c01);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r1 + 2L * kk) << 16));
            c10 = x0.fma(b, c10);
            c11 = x1.fma(b, c11);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r2 + 2L * kk) << 16));
            c20 = x0.fma(b, c20);
            c21 = x1.fma(b, c21);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r3 + 2L * kk) << 16));
            c30 = x0.fma(b, c30);
            c31 = x1.fma(b, c31);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r4 + 2L * kk) << 16));
            c40 = x0.fma(b, c40);
            c41 = x1.fma(b, c41);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r5 + 2L * kk) << 16));
            c50 = x0.fma(b, c50);
            c51 = x1.fma(b, c51);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r6 + 2L * kk) << 16));
            c60 = x0.fma(b, c60);
            c61 = x1.fma(b, c61);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r7 + 2L * kk) << 16));
            c70 = x0.fma(b, c70);
            c71 = x1.fma(b, c71);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r8 + 2L * kk) << 16));
            c80 = x0.fma(b, c80);
            c81 = x1.fma(b, c81);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r9 + 2L * kk) << 16));
            c90 = x0.fma(b, c90);
            c91 = x1.fma(b, c91);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r10 + 2L * kk) << 16));
            cA0 = x0.fma(b, cA0);
            cA1 = x1.fma(b, cA1);
            b = FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r11 + 2L * kk) << 16));
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
    private static void k1x12(float[] p, int pb, MemorySegment w, long w0, long rb, int last, int kl, float[] a, int ab, int as) {
        final int cw = L;
        int a0 = ab, a1 = a0 + as, a2 = a1 + as, a3 = a2 + as, a4 = a3 + as, a5 = a4 + as;
        int a6 = a5 + as, a7 = a6 + as, a8 = a7 + as, a9 = a8 + as, a10 = a9 + as, a11 = a10 + as;
        FloatVector c0 = FloatVector.fromArray(F, a, a0), c1 = FloatVector.fromArray(F, a, a1);
        FloatVector c2 = FloatVector.fromArray(F, a, a2), c3 = FloatVector.fromArray(F, a, a3);
        FloatVector c4 = FloatVector.fromArray(F, a, a4), c5 = FloatVector.fromArray(F, a, a5);
        FloatVector c6 = FloatVector.fromArray(F, a, a6), c7 = FloatVector.fromArray(F, a, a7);
        FloatVector c8 = FloatVector.fromArray(F, a, a8), c9 = FloatVector.fromArray(F, a, a9);
        FloatVector cA = FloatVector.fromArray(F, a, a10), cB = FloatVector.fromArray(F, a, a11);
        long r0 = w0, r1 = w0 + Math.min(1, last) * rb, r2 = w0 + Math.min(2, last) * rb;
        long r3 = w0 + Math.min(3, last) * rb, r4 = w0 + Math.min(4, last) * rb, r5 = w0 + Math.min(5, last) * rb;
        long r6 = w0 + Math.min(6, last) * rb, r7 = w0 + Math.min(7, last) * rb, r8 = w0 + Math.min(8, last) * rb, r9 = w0 + Math.min(9, last) * rb, r10 = w0 + Math.min(10, last) * rb, r11 = w0 + Math.min(11, last) * rb;
        for (int kk = 0; kk < kl; kk++) {
            FloatVector x0 = FloatVector.fromArray(F, p, pb + kk * cw);
            c0 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r0 + 2L * kk) << 16)), c0);
            c1 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r1 + 2L * kk) << 16)), c1);
            c2 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r2 + 2L * kk) << 16)), c2);
            c3 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r3 + 2L * kk) << 16)), c3);
            c4 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r4 + 2L * kk) << 16)), c4);
            c5 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r5 + 2L * kk) << 16)), c5);
            c6 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r6 + 2L * kk) << 16)), c6);
            c7 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r7 + 2L * kk) << 16)), c7);
            c8 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r8 + 2L * kk) << 16)), c8);
            c9 = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r9 + 2L * kk) << 16)), c9);
            cA = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r10 + 2L * kk) << 16)), cA);
            cB = x0.fma(FloatVector.broadcast(F, Float.intBitsToFloat(w.get(BF16, r11 + 2L * kk) << 16)), cB);
        }
        c0.intoArray(a, a0); c1.intoArray(a, a1); c2.intoArray(a, a2); c3.intoArray(a, a3);
        c4.intoArray(a, a4); c5.intoArray(a, a5); c6.intoArray(a, a6); c7.intoArray(a, a7);
        c8.intoArray(a, a8); c9.intoArray(a, a9); cA.intoArray(a, a10); cB.intoArray(a, a11);
    }
}
