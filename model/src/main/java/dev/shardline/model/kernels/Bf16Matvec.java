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
 * The decode matvec for bf16 weights, at one full-width load per 2L weights: each int lane holds two bf16 values
 * (little-endian: element 2i in the low half, 2i+1 in the high half), so {@code lane << 16} is the even element
 * and {@code lane & 0xffff0000} the odd one, both exact floats. The activation vector is split once per call into
 * matching even/odd halves ({@link #deinterleave}), so no shuffles run in the inner loop.
 */
final class Bf16Matvec {
    private static final int BLOCK = 2 * L;  // bf16 weights per int-vector load

    private Bf16Matvec() {
    }

    /**
     * Writes {@code xd[b*2L + i] = x[b*2L + 2i]} and {@code xd[b*2L + L + i] = x[b*2L + 2i + 1]} for every full
     * block b of 2L columns; the tail columns are copied as they are.
     */
    static void deinterleave(float[] x, int k, float[] xd) {
        deinterleave(x, 0, k, xd);
    }

    /** As {@link #deinterleave(float[], int, float[])} for the k floats at {@code offset} in both arrays. */
    static void deinterleave(float[] x, int offset, int k, float[] xd) {
        int full = k / BLOCK * BLOCK;
        for (int b = offset; b < offset + full; b += BLOCK) {
            for (int i = 0; i < L; i++) {
                xd[b + i] = x[b + 2 * i];
                xd[b + L + i] = x[b + 2 * i + 1];
            }
        }
        System.arraycopy(x, offset + full, xd, offset + full, k - full);
    }

    /** {@code out[r] = dot(w[r, :], x)} for rows [r0, r1) of the bf16 matrix in {@code seg}; xd from deinterleave. */
    static void rows(float[] xd, MemorySegment seg, int k, int r0, int r1, float[] out) {
        long rowBytes = 2L * k;
        int full = k / BLOCK * BLOCK;
        // four rows a quarter of the range apart: four distant sequential streams, which the prefetchers serve
        // faster than four adjacent rows (measured 33 vs 24 GB/s on one thread)
        int q = (r1 - r0) / 4;
        for (int r = r0; r < r0 + q; r++) {
            long o0 = r * rowBytes;
            long o1 = o0 + q * rowBytes;
            long o2 = o1 + q * rowBytes;
            long o3 = o2 + q * rowBytes;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            FloatVector e0 = FloatVector.zero(F);
            FloatVector e1 = FloatVector.zero(F);
            FloatVector e2 = FloatVector.zero(F);
            FloatVector e3 = FloatVector.zero(F);
            for (int i = 0; i < full; i += BLOCK) {
                FloatVector xe = FloatVector.fromArray(F, xd, i);
                FloatVector xo = FloatVector.fromArray(F, xd, i + L);
                long b = 2L * i;
                IntVector w0 = IntVector.fromMemorySegment(I, seg, o0 + b, ByteOrder.LITTLE_ENDIAN);
                IntVector w1 = IntVector.fromMemorySegment(I, seg, o1 + b, ByteOrder.LITTLE_ENDIAN);
                IntVector w2 = IntVector.fromMemorySegment(I, seg, o2 + b, ByteOrder.LITTLE_ENDIAN);
                IntVector w3 = IntVector.fromMemorySegment(I, seg, o3 + b, ByteOrder.LITTLE_ENDIAN);
                a0 = even(w0).fma(xe, a0);
                e0 = odd(w0).fma(xo, e0);
                a1 = even(w1).fma(xe, a1);
                e1 = odd(w1).fma(xo, e1);
                a2 = even(w2).fma(xe, a2);
                e2 = odd(w2).fma(xo, e2);
                a3 = even(w3).fma(xe, a3);
                e3 = odd(w3).fma(xo, e3);
            }
            out[r] = a0.add(e0).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0, full, k);
            out[r + q] = a1.add(e1).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o1, full, k);
            out[r + 2 * q] = a2.add(e2).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o2, full, k);
            out[r + 3 * q] = a3.add(e3).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o3, full, k);
        }
        for (int r = r0 + 4 * q; r < r1; r++) {
            long o = r * rowBytes;
            FloatVector a = FloatVector.zero(F);
            FloatVector e = FloatVector.zero(F);
            for (int i = 0; i < full; i += BLOCK) {
                IntVector w = IntVector.fromMemorySegment(I, seg, o + 2L * i, ByteOrder.LITTLE_ENDIAN);
                a = even(w).fma(FloatVector.fromArray(F, xd, i), a);
                e = odd(w).fma(FloatVector.fromArray(F, xd, i + L), e);
            }
            out[r] = a.add(e).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o, full, k);
        }
    }

    /** Streams per call of {@link #rows}: 4 or 8 (not final: an A/B switch for benchmarks). */
    static final int streams = 8;

    /**
     * As {@link #rows}, with eight rows an eighth of the range apart (eight sequential streams). even/odd are
     * written out: past C2's inlining budget they stay calls, and the vectors get boxed (measured 3x slower).
     */
    static void rows8(float[] xd, MemorySegment seg, int k, int r0, int r1, float[] out) {
        long rowBytes = 2L * k;
        int full = k / BLOCK * BLOCK;
        int q = (r1 - r0) / 8;
        long step = q * rowBytes;
        for (int r = r0; r < r0 + q; r++) {
            long o0 = r * rowBytes;
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
            FloatVector a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
            FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F), e3 = FloatVector.zero(F);
            FloatVector e4 = FloatVector.zero(F), e5 = FloatVector.zero(F), e6 = FloatVector.zero(F), e7 = FloatVector.zero(F);
            for (int i = 0; i < full; i += BLOCK) {
                FloatVector xe = FloatVector.fromArray(F, xd, i);
                FloatVector xo = FloatVector.fromArray(F, xd, i + L);
                long b = o0 + 2L * i;
                IntVector w = IntVector.fromMemorySegment(I, seg, b, ByteOrder.LITTLE_ENDIAN);
                a0 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a0);
                e0 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e0);
                w = IntVector.fromMemorySegment(I, seg, b + step, ByteOrder.LITTLE_ENDIAN);
                a1 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a1);
                e1 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e1);
                w = IntVector.fromMemorySegment(I, seg, b + 2 * step, ByteOrder.LITTLE_ENDIAN);
                a2 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a2);
                e2 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e2);
                w = IntVector.fromMemorySegment(I, seg, b + 3 * step, ByteOrder.LITTLE_ENDIAN);
                a3 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a3);
                e3 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e3);
                w = IntVector.fromMemorySegment(I, seg, b + 4 * step, ByteOrder.LITTLE_ENDIAN);
                a4 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a4);
                e4 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e4);
                w = IntVector.fromMemorySegment(I, seg, b + 5 * step, ByteOrder.LITTLE_ENDIAN);
                a5 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a5);
                e5 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e5);
                w = IntVector.fromMemorySegment(I, seg, b + 6 * step, ByteOrder.LITTLE_ENDIAN);
                a6 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a6);
                e6 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e6);
                w = IntVector.fromMemorySegment(I, seg, b + 7 * step, ByteOrder.LITTLE_ENDIAN);
                a7 = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, a7);
                e7 = w.and(0xffff0000).reinterpretAsFloats().fma(xo, e7);
            }
            out[r] = a0.add(e0).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0, full, k);
            out[r + q] = a1.add(e1).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0 + step, full, k);
            out[r + 2 * q] = a2.add(e2).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0 + 2 * step, full, k);
            out[r + 3 * q] = a3.add(e3).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0 + 3 * step, full, k);
            out[r + 4 * q] = a4.add(e4).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0 + 4 * step, full, k);
            out[r + 5 * q] = a5.add(e5).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0 + 5 * step, full, k);
            out[r + 6 * q] = a6.add(e6).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0 + 6 * step, full, k);
            out[r + 7 * q] = a7.add(e7).reduceLanes(VectorOperators.ADD) + tail(xd, seg, o0 + 7 * step, full, k);
        }
        rows(xd, seg, k, r0 + 8 * q, r1, out);
    }

    private static FloatVector even(IntVector w) {
        return w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector odd(IntVector w) {
        return w.and(0xffff0000).reinterpretAsFloats();
    }

    /** The columns [full, k) that do not fill a block, scalar (xd holds them in their natural order). */
    private static float tail(float[] xd, MemorySegment seg, long rowOffset, int full, int k) {
        float s = 0f;
        for (int i = full; i < k; i++) {
            s += VectorOps.bf16Scalar(seg, rowOffset + 2L * i) * xd[i];
        }
        return s;
    }
}
