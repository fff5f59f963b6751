package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.I;
import static dev.shardline.model.kernels.VectorOps.L;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Batched decode: a bf16 matrix times a few activation rows (2..{@link #MAX_TOKENS} tokens, the decode steps of a
 * continuous batch). Each weight row is read from memory once and, while it sits in L1/L2, multiplied with the
 * tokens four at a time, using {@link Bf16Matvec}'s even/odd split of each 32-bit word (no widening in memory, no
 * packing). Memory-bound like a matvec for few tokens, FMA-bound for many; the packed kernel takes over above.
 */
final class Bf16SmallBatch {
    static final int MAX_TOKENS = 16;
    private static final int BLOCK = 2 * L;
    /** The two-row kernel needs 16 accumulators + 6 weight vectors: only with AVX-512's 32 registers. */
    static final boolean TWO_ROWS = L >= 16 && !Boolean.getBoolean("shardline.oneRowBatch");

    private Bf16SmallBatch() {
    }

    /** Deinterleaves every token's row of x into xd (same layout as {@link Bf16Matvec#deinterleave}). */
    static void deinterleave(float[] x, int tokens, int k, float[] xd) {
        for (int t = 0; t < tokens; t++) {
            Bf16Matvec.deinterleave(x, t * k, k, xd);
        }
    }

    /**
     * Weight rows per block: every group of four tokens passes over the block while it sits in cache. 16 rows of a
     * 896-wide matrix (28 KiB) stay in L1 next to four tokens' activations; 32 rows (57 KiB) did not, and 8-token
     * products (a 2-stage pipeline's micro-batch at 16 sequences) then ran 1.5-1.7x slower, streamed from memory, than
     * with 16 (same-run A/B on this project's 2-vCPU machine; 4, 12 and 16 tokens within +-5%).
     */
    private static final int ROW_BLOCK = 16;

    /**
     * {@code out[t, r] = dot(w[r, :], x[t, :])} for rows [r0, r1) and all tokens; xd from {@link #deinterleave}.
     * Rows go in blocks, token groups inside a block: four tokens' activations stay in L1 while the block's rows
     * stream past, and the block's weights come from memory once and from cache (L1 for 896-wide rows) for the
     * other groups. (Touching the next block's lines ahead, as a prefetch, was tried: 10-15% slower with 16-row
     * blocks.)
     */
    static void rows(float[] xd, int tokens, MemorySegment seg, int k, int n, int r0, int r1, float[] out) {
        for (int rb = r0; rb < r1; rb += ROW_BLOCK) {
            int re = Math.min(r1, rb + ROW_BLOCK);
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                int r = rb;
                if (TWO_ROWS) {
                    for (; r + 2 <= re; r += 2) {
                        twoRowsFourTokens(xd, t, seg, k, n, r, out);
                    }
                }
                for (; r < re; r++) {
                    fourTokens(xd, t, seg, k, n, r, out);
                }
            }
            for (; t < tokens; t++) {
                for (int r = rb; r < re; r++) {
                    oneToken(xd, t, seg, k, n, r, out);
                }
            }
        }
    }

    /**
     * Two weight rows x four tokens per pass: each token's activation vector, loaded once, feeds both rows, so a pass
     * does 16 FMAs per 10 loads instead of 8 per 9 ({@link #fourTokens}); 16 accumulators fit AVX-512's 32
     * registers (not AVX2's 16, where this would spill: used only with 16-float vectors).
     */
    private static void twoRowsFourTokens(float[] xd, int t, MemorySegment seg, int k, int n, int r, float[] out) {
        long o0 = r * 2L * k;
        long o1 = o0 + 2L * k;
        int full = k / BLOCK * BLOCK;
        int b0 = t * k;
        int b1 = b0 + k;
        int b2 = b1 + k;
        int b3 = b2 + k;
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector e00 = FloatVector.zero(F), e01 = FloatVector.zero(F), e02 = FloatVector.zero(F), e03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector e10 = FloatVector.zero(F), e11 = FloatVector.zero(F), e12 = FloatVector.zero(F), e13 = FloatVector.zero(F);
        for (int i = 0; i < full; i += BLOCK) {
            IntVector w0 = IntVector.fromMemorySegment(I, seg, o0 + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector w1 = IntVector.fromMemorySegment(I, seg, o1 + 2L * i, ByteOrder.LITTLE_ENDIAN);
            FloatVector we0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo0 = w0.and(0xffff0000).reinterpretAsFloats();
            FloatVector we1 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo1 = w1.and(0xffff0000).reinterpretAsFloats();
            FloatVector x = FloatVector.fromArray(F, xd, b0 + i);
            a00 = we0.fma(x, a00);
            a10 = we1.fma(x, a10);
            x = FloatVector.fromArray(F, xd, b0 + i + L);
            e00 = wo0.fma(x, e00);
            e10 = wo1.fma(x, e10);
            x = FloatVector.fromArray(F, xd, b1 + i);
            a01 = we0.fma(x, a01);
            a11 = we1.fma(x, a11);
            x = FloatVector.fromArray(F, xd, b1 + i + L);
            e01 = wo0.fma(x, e01);
            e11 = wo1.fma(x, e11);
            x = FloatVector.fromArray(F, xd, b2 + i);
            a02 = we0.fma(x, a02);
            a12 = we1.fma(x, a12);
            x = FloatVector.fromArray(F, xd, b2 + i + L);
            e02 = wo0.fma(x, e02);
            e12 = wo1.fma(x, e12);
            x = FloatVector.fromArray(F, xd, b3 + i);
            a03 = we0.fma(x, a03);
            a13 = we1.fma(x, a13);
            x = FloatVector.fromArray(F, xd, b3 + i + L);
            e03 = wo0.fma(x, e03);
            e13 = wo1.fma(x, e13);
        }
        out[t * n + r] = a00.add(e00).reduceLanes(VectorOperators.ADD) + tail(xd, b0, seg, o0, full, k);
        out[(t + 1) * n + r] = a01.add(e01).reduceLanes(VectorOperators.ADD) + tail(xd, b1, seg, o0, full, k);
        out[(t + 2) * n + r] = a02.add(e02).reduceLanes(VectorOperators.ADD) + tail(xd, b2, seg, o0, full, k);
        out[(t + 3) * n + r] = a03.add(e03).reduceLanes(VectorOperators.ADD) + tail(xd, b3, seg, o0, full, k);
        out[t * n + r + 1] = a10.add(e10).reduceLanes(VectorOperators.ADD) + tail(xd, b0, seg, o1, full, k);
        out[(t + 1) * n + r + 1] = a11.add(e11).reduceLanes(VectorOperators.ADD) + tail(xd, b1, seg, o1, full, k);
        out[(t + 2) * n + r + 1] = a12.add(e12).reduceLanes(VectorOperators.ADD) + tail(xd, b2, seg, o1, full, k);
        out[(t + 3) * n + r + 1] = a13.add(e13).reduceLanes(VectorOperators.ADD) + tail(xd, b3, seg, o1, full, k);
    }

    private static void fourTokens(float[] xd, int t, MemorySegment seg, int k, int n, int r, float[] out) {
        long o = r * 2L * k;
        int full = k / BLOCK * BLOCK;
        int b0 = t * k;
        int b1 = b0 + k;
        int b2 = b1 + k;
        int b3 = b2 + k;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        for (int i = 0; i < full; i += BLOCK) {
            IntVector w = IntVector.fromMemorySegment(I, seg, o + 2L * i, ByteOrder.LITTLE_ENDIAN);
            FloatVector we = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo = w.and(0xffff0000).reinterpretAsFloats();
            a0 = we.fma(FloatVector.fromArray(F, xd, b0 + i), a0);
            e0 = wo.fma(FloatVector.fromArray(F, xd, b0 + i + L), e0);
            a1 = we.fma(FloatVector.fromArray(F, xd, b1 + i), a1);
            e1 = wo.fma(FloatVector.fromArray(F, xd, b1 + i + L), e1);
            a2 = we.fma(FloatVector.fromArray(F, xd, b2 + i), a2);
            e2 = wo.fma(FloatVector.fromArray(F, xd, b2 + i + L), e2);
            a3 = we.fma(FloatVector.fromArray(F, xd, b3 + i), a3);
            e3 = wo.fma(FloatVector.fromArray(F, xd, b3 + i + L), e3);
        }
        out[t * n + r] = a0.add(e0).reduceLanes(VectorOperators.ADD) + tail(xd, b0, seg, o, full, k);
        out[(t + 1) * n + r] = a1.add(e1).reduceLanes(VectorOperators.ADD) + tail(xd, b1, seg, o, full, k);
        out[(t + 2) * n + r] = a2.add(e2).reduceLanes(VectorOperators.ADD) + tail(xd, b2, seg, o, full, k);
        out[(t + 3) * n + r] = a3.add(e3).reduceLanes(VectorOperators.ADD) + tail(xd, b3, seg, o, full, k);
    }

    private static void oneToken(float[] xd, int t, MemorySegment seg, int k, int n, int r, float[] out) {
        long o = r * 2L * k;
        int full = k / BLOCK * BLOCK;
        int b = t * k;
        FloatVector a = FloatVector.zero(F);
        FloatVector e = FloatVector.zero(F);
        for (int i = 0; i < full; i += BLOCK) {
            IntVector w = IntVector.fromMemorySegment(I, seg, o + 2L * i, ByteOrder.LITTLE_ENDIAN);
            a = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, b + i), a);
            e = w.and(0xffff0000).reinterpretAsFloats().fma(FloatVector.fromArray(F, xd, b + i + L), e);
        }
        out[t * n + r] = a.add(e).reduceLanes(VectorOperators.ADD) + tail(xd, b, seg, o, full, k);
    }

    /** Columns [full, k) in natural order, scalar. */
    private static float tail(float[] xd, int base, MemorySegment seg, long rowOffset, int full, int k) {
        float s = 0f;
        for (int i = full; i < k; i++) {
            s += VectorOps.bf16Scalar(seg, rowOffset + 2L * i) * xd[base + i];
        }
        return s;
    }
}
