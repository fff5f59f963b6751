package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.ADDRESS_MASK;
import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.I;
import static dev.shardline.model.kernels.VectorOps.L;
import static dev.shardline.model.kernels.VectorOps.MEMORY;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.Quant;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products with Q8_0, Q4_K and Q6_K weights read in place from their (mapped) blocks: no dequantized copy of a
 * weight ever exists beyond one block (or one prefill tile) in registers or per-thread scratch. Layouts: {@link Quant}
 * and docs/adr/0008.
 *
 * <p>Decode ({@link #rows}) of Q4_K and Q6_K runs {@link QuantLaneKernels} instead where the machine has 16 float
 * lanes (AVX-512), unless the backend is {@code cpu-byte-quant}: the kernels below stay for Q8_0, for narrower
 * vectors and as that benchmark variant. Here each block is unpacked in registers, {@code L} quants at a time. Q8_0 runs four rows a
 * quarter of the range apart together (four sequential streams; each activation load serves four rows); quants are
 * widened straight from memory to float lanes ({@code convertShape(B2F)}: vpmovsxbd + vcvtdq2ps), multiplied by the
 * activations unscaled, and the block's scale is applied once per block and row with one FMA. Q4_K and Q6_K run one
 * row at a time: their bytes are loaded as a {@code ByteVector} of {@code L} lanes, nibbles and bit pairs are split
 * by shifting the same bits as int lanes (x86 has no byte shift) and masking in byte lanes, then widened with
 * {@code B2F}; each (sub-)block's scale is applied once to its partial sum, into four accumulators (short FMA
 * latency chains). Q4_K's per-sub-block minimum is applied once per sub-block through the activations' sums over
 * that sub-block, which every row shares ({@link #subBlockSums}). The vector code calls no helper methods of its
 * own: past C2's inlining budget (NodeCountInliningCutoff) a helper stays a call and its vectors are boxed, which
 * measured 5-20x slower. Activations stay f32: the Vector API has no int8 dot product, so quantizing them to int8
 * would add conversions without removing any (short-lane products need shifts to sum pairs before a scale fits;
 * C2 did not auto-vectorize a {@code short[]} multiply-add reduction; see docs/adr/0008).
 *
 * <p>A few tokens ({@link #rowsBatch}) decode each block once into 256 floats of scratch and reuse it for every
 * token. Prefill widens whole tiles with {@link #decode} (the packed GEMM path). Without 8 or more float lanes
 * everything falls back to the scalar {@link Quant} decoding.
 */
final class QuantKernels {
    /** Tokens up to which a quantized product runs row by row (each block decoded once for all tokens). */
    static final int MAX_BATCH = 5;

    static final boolean VECTOR = L >= 8;
    static final VectorSpecies<Byte> B = VECTOR ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8))
            : ByteVector.SPECIES_64;
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private QuantKernels() {
    }

    private static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }

    /** Sums of x over each run of 32 elements ({@code k / 32} of them), for Q4_K's minimums. */
    static float[] subBlockSums(float[] x, int xOff, int k, float[] into) {
        float[] s = into != null && into.length >= k / 32 ? into : new float[k / 32];
        for (int b = 0; b < k / 32; b++) {
            FloatVector a = FloatVector.zero(F);
            int i = 0;
            if (VECTOR) {
                for (; i < 32; i += L) a = a.add(FloatVector.fromArray(F, x, xOff + 32 * b + i));
            }
            float sum = a.reduceLanes(VectorOperators.ADD);
            for (; i < 32; i++) sum += x[xOff + 32 * b + i];
            s[b] = sum;
        }
        return s;
    }

    /**
     * {@code out[r] = sum_k x[k] w[r, k]} for rows [r0, r1) of a block-type matrix; {@code xs} from
     * {@link #subBlockSums}. Four rows a quarter of the range apart run together (four sequential streams, as for
     * bf16, and each activation load serves four rows); the rest one at a time.
     */
    static void rows(float[] x, float[] xs, WeightTensor w, int k, int r0, int r1, float[] out) {
        MemorySegment seg = w.data();
        long rowBytes = w.dtype().bytesFor(k);
        if (!VECTOR) {
            for (int r = r0; r < r1; r++) out[r] = scalarRow(x, 0, w, k, r);
            return;
        }
        int q = w.dtype() == DType.Q8_0 && seg.isNative() ? (r1 - r0) / 4 : 0;
        long step = q * rowBytes;
        if (q > 0) {
            // q8Rows4 reads the weights by address: the rows' extent and the segment are checked here, once
            if (!seg.scope().isAlive()) throw new IllegalStateException(w + ": its memory is already closed");
            Objects.checkFromToIndex(r0 * rowBytes, r1 * rowBytes, seg.byteSize());
        }
        for (int r = r0; r < r0 + q; r++) {
            q8Rows4(x, seg.address() + r * rowBytes, step, k, out, r, q);
        }
        for (int r = r0 + 4 * q; r < r1; r++) {
            long o = r * rowBytes;
            switch (w.dtype()) {
                case Q8_0 -> out[r] = q8Row(x, seg, o, k);
                case Q4_K -> out[r] = q4kRow(x, xs, seg, o, k);
                case Q6_K -> out[r] = q6kRow(x, seg, o, k);
                default -> throw new IllegalArgumentException(w + " is not a block type");
            }
        }
    }

    private static float scalarRow(float[] x, int xOff, WeightTensor w, int k, int r) {
        float[] buf = new float[w.dtype().blockSize()];
        double s = 0;
        for (int b = 0; b < k / buf.length; b++) {
            Quant.dequantize(w.dtype(), w.data(), (long) r * (k / buf.length) + b, 1, buf, 0);
            for (int i = 0; i < buf.length; i++) s += buf[i] * x[xOff + b * buf.length + i];
        }
        return (float) s;
    }

    private static FloatVector i8(MemorySegment s, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, s, off, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Q8_0, rows {@code r, r + q, r + 2q, r + 3q} (at native addresses {@code o + i * step}). Per block and row the
     * quants times the activations are summed unscaled, then one FMA applies the block's scale.
     */
    private static void q8Rows4(float[] x, long o, long step, int k, float[] out, int r, int q) {
        MemorySegment s = MEMORY;   // the weights by address (masked: see ADDRESS_MASK)
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int xi = 0; xi < k; xi += 32) {
            long b0 = (o + 34L * (xi >> 5)) & ADDRESS_MASK;
            long b1 = (b0 + step) & ADDRESS_MASK;
            long b2 = (b0 + 2 * step) & ADDRESS_MASK;
            long b3 = (b0 + 3 * step) & ADDRESS_MASK;
            FloatVector x0 = FloatVector.fromArray(F, x, xi);
            FloatVector x1 = FloatVector.fromArray(F, x, xi + L);
            FloatVector t0 = i8(s, b0 + 2).mul(x0);
            FloatVector t1 = i8(s, b1 + 2).mul(x0);
            FloatVector t2 = i8(s, b2 + 2).mul(x0);
            FloatVector t3 = i8(s, b3 + 2).mul(x0);
            if (L == 8) {
                FloatVector x2 = FloatVector.fromArray(F, x, xi + 16);
                FloatVector x3 = FloatVector.fromArray(F, x, xi + 24);
                t0 = i8(s, b0 + 18).fma(x2, i8(s, b0 + 26).fma(x3, t0));
                t1 = i8(s, b1 + 18).fma(x2, i8(s, b1 + 26).fma(x3, t1));
                t2 = i8(s, b2 + 18).fma(x2, i8(s, b2 + 26).fma(x3, t2));
                t3 = i8(s, b3 + 18).fma(x2, i8(s, b3 + 26).fma(x3, t3));
            }
            t0 = i8(s, b0 + 2 + L).fma(x1, t0);
            t1 = i8(s, b1 + 2 + L).fma(x1, t1);
            t2 = i8(s, b2 + 2 + L).fma(x1, t2);
            t3 = i8(s, b3 + 2 + L).fma(x1, t3);
            a0 = t0.fma(FloatVector.broadcast(F, f16(s, b0)), a0);
            a1 = t1.fma(FloatVector.broadcast(F, f16(s, b1)), a1);
            a2 = t2.fma(FloatVector.broadcast(F, f16(s, b2)), a2);
            a3 = t3.fma(FloatVector.broadcast(F, f16(s, b3)), a3);
        }
        out[r] = a0.reduceLanes(VectorOperators.ADD);
        out[r + q] = a1.reduceLanes(VectorOperators.ADD);
        out[r + 2 * q] = a2.reduceLanes(VectorOperators.ADD);
        out[r + 3 * q] = a3.reduceLanes(VectorOperators.ADD);
    }

    private static float q8Row(float[] x, MemorySegment s, long o, int k) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0, xi = 0; b < k / 32; b++, xi += 32) {
            long bo = o + 34L * b;
            FloatVector t = FloatVector.zero(F);
            for (int j = 0; j < 32; j += L) t = i8(s, bo + 2 + j).fma(FloatVector.fromArray(F, x, xi + j), t);
            acc = t.fma(FloatVector.broadcast(F, f16(s, bo)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Q4_K's eight 6-bit scales (bytes of the first int: sub-blocks 0-3; second: 4-7) and mins (third, fourth). */
    private static long q4kScales(MemorySegment s, long bo) {
        int a = s.get(INT_LE, bo + 4);
        int c = s.get(INT_LE, bo + 12);
        int sc03 = a & 0x3F3F3F3F;
        int sc47 = (c & 0x0F0F0F0F) | ((a >>> 2) & 0x30303030);
        return (sc03 & 0xFFFFFFFFL) | ((long) sc47 << 32);
    }

    private static long q4kMins(MemorySegment s, long bo) {
        int a = s.get(INT_LE, bo + 4);
        int b = s.get(INT_LE, bo + 8);
        int c = s.get(INT_LE, bo + 12);
        int m03 = b & 0x3F3F3F3F;
        int m47 = ((c >>> 4) & 0x0F0F0F0F) | ((b >>> 2) & 0x30303030);
        return (m03 & 0xFFFFFFFFL) | ((long) m47 << 32);
    }

    /**
     * One Q4_K row. Per sub-block the nibbles times the activations are summed unscaled, then one FMA applies the
     * sub-block's scale; two groups (four sub-blocks) per step go to four accumulators, so the FMA latency chain is
     * two per block rather than eight.
     */
    private static float q4kRow(float[] x, float[] xs, MemorySegment s, long o, int k) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < k / 256; b++) {
            long bo = o + 144L * b;
            float d = f16(s, bo);
            long sc = q4kScales(s, bo);
            long mn = q4kMins(s, bo);
            float m = 0;
            for (int j = 0; j < 8; j++) m += (int) ((mn >>> (8 * j)) & 0xFF) * xs[8 * b + j];
            mins += f16(s, bo + 2) * m;
            for (int g = 0; g < 4; g += 2) {
                int xi = 256 * b + 64 * g;
                long qo = bo + 16 + 32L * g;
                FloatVector l0 = FloatVector.zero(F), h0 = FloatVector.zero(F), l1 = FloatVector.zero(F), h1 = FloatVector.zero(F);
                for (int j = 0; j < 32; j += L) {
                    // low nibbles: masked in place; high nibbles: the int lanes shifted (x86 has no byte shift), then masked
                    IntVector v = ByteVector.fromMemorySegment(B, s, qo + j, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
                    IntVector u = ByteVector.fromMemorySegment(B, s, qo + 32 + j, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
                    l0 = ((FloatVector) v.and(0x0F0F0F0F).reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.fromArray(F, x, xi + j), l0);
                    h0 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).reinterpretAsBytes()
                            .convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xi + 32 + j), h0);
                    l1 = ((FloatVector) u.and(0x0F0F0F0F).reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.fromArray(F, x, xi + 64 + j), l1);
                    h1 = ((FloatVector) u.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).reinterpretAsBytes()
                            .convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xi + 96 + j), h1);
                }
                int sh = 16 * g;
                a0 = l0.fma(FloatVector.broadcast(F, d * (int) ((sc >>> sh) & 0xFF)), a0);
                a1 = h0.fma(FloatVector.broadcast(F, d * (int) ((sc >>> (sh + 8)) & 0xFF)), a1);
                a2 = l1.fma(FloatVector.broadcast(F, d * (int) ((sc >>> (sh + 16)) & 0xFF)), a2);
                a3 = h1.fma(FloatVector.broadcast(F, d * (int) ((sc >>> (sh + 24)) & 0xFF)), a3);
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD) - mins;
    }

    /**
     * One Q6_K row, unpacked in registers: per quarter (16 lanes share a scale) the quants times the activations,
     * then one FMA with the scale into that quarter's accumulator.
     */
    private static float q6kRow(float[] x, MemorySegment s, long o, int k) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int b = 0; b < k / 256; b++) {
            long bo = o + 210L * b;
            float d = f16(s, bo + 208);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += L) {
                    int xo = 256 * b + 128 * h + l;
                    ByteVector ql0 = ByteVector.fromMemorySegment(B, s, bo + 64L * h + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector ql1 = ByteVector.fromMemorySegment(B, s, bo + 64L * h + 32 + l, ByteOrder.LITTLE_ENDIAN);
                    IntVector qh = ByteVector.fromMemorySegment(B, s, bo + 128 + 32L * h + l, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
                    IntVector l0 = ql0.reinterpretAsInts();
                    IntVector l1 = ql1.reinterpretAsInts();
                    long sc = bo + 192 + 8L * h + l / 16;
                    // q - 32 for the four quarters, in byte lanes; shifts run on int lanes and masks drop the bits
                    // that crossed from a neighbouring byte
                    ByteVector q0 = l0.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, 4).and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                    ByteVector q1 = l1.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, 2).and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                    ByteVector q2 = l0.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qh.and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                    ByteVector q3 = l1.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHR, 2).and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                    FloatVector t0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo));
                    FloatVector t1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 32));
                    FloatVector t2 = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 64));
                    FloatVector t3 = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xo + 96));
                    a0 = t0.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc)), a0);
                    a1 = t1.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + 2)), a1);
                    a2 = t2.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + 4)), a2);
                    a3 = t3.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + 6)), a3);
                }
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * A few tokens: {@code out[t, r] = sum_k x[t, k] w[r, k]} for rows [r0, r1); each block is decoded once into
     * {@code scratch} (256 floats) and reused for every token.
     */
    static void rowsBatch(float[] x, int tokens, WeightTensor w, int k, int n, int r0, int r1, float[] out,
                          float[] scratch, float[] acc) {
        DType t = w.dtype();
        int bs = t.blockSize();
        int blocksPerRow = k / bs;
        for (int r = r0; r < r1; r++) {
            java.util.Arrays.fill(acc, 0, tokens, 0f);
            for (int b = 0; b < blocksPerRow; b++) {
                decode(t, w.data(), (long) r * blocksPerRow + b, 1, scratch, 0);
                for (int tok = 0; tok < tokens; tok++) {
                    int xo = tok * k + b * bs;
                    FloatVector a = FloatVector.zero(F);
                    int i = 0;
                    for (; i < F.loopBound(bs); i += L) {
                        a = FloatVector.fromArray(F, scratch, i).fma(FloatVector.fromArray(F, x, xo + i), a);
                    }
                    float sum = a.reduceLanes(VectorOperators.ADD);
                    for (; i < bs; i++) sum += scratch[i] * x[xo + i];
                    acc[tok] += sum;
                }
            }
            for (int tok = 0; tok < tokens; tok++) {
                out[tok * n + r] = acc[tok];
            }
        }
    }

    /** Decodes {@code blocks} blocks from block {@code first} into {@code dst[off ..]}: same values as {@link Quant}. */
    static void decode(DType t, MemorySegment s, long first, long blocks, float[] dst, int off) {
        if (!VECTOR) {
            Quant.dequantize(t, s, first, blocks, dst, off);
            return;
        }
        for (long k = 0; k < blocks; k++) {
            long bo = (first + k) * t.blockBytes();
            int o = off + (int) (k * t.blockSize());
            switch (t) {
                case Q8_0 -> {
                    float d = f16(s, bo);
                    for (int j = 0; j < 32; j += L) ((FloatVector) ByteVector.fromMemorySegment(B, s, bo + 2 + j, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, o + j);
                }
                case Q4_K -> {
                    float d = f16(s, bo);
                    float dmin = f16(s, bo + 2);
                    long sc = q4kScales(s, bo);
                    long mn = q4kMins(s, bo);
                    for (int g = 0; g < 4; g++) {
                        float d1 = d * (int) ((sc >>> (16 * g)) & 0xFF);
                        float m1 = dmin * (int) ((mn >>> (16 * g)) & 0xFF);
                        float d2 = d * (int) ((sc >>> (16 * g + 8)) & 0xFF);
                        float m2 = dmin * (int) ((mn >>> (16 * g + 8)) & 0xFF);
                        for (int j = 0; j < 32; j += L) {
                            IntVector q = ByteVector.fromMemorySegment(B, s, bo + 16 + 32L * g + j, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
                            ((FloatVector) q.and(0x0F0F0F0F).reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1).intoArray(dst, o + 64 * g + j);
                            ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0))
                                    .mul(d2).sub(m2).intoArray(dst, o + 64 * g + 32 + j);
                        }
                    }
                }
                case Q6_K -> {
                    float d = f16(s, bo + 208);
                    for (int h = 0; h < 2; h++) {
                        for (int l = 0; l < 32; l += L) {
                            IntVector l0 = ByteVector.fromMemorySegment(B, s, bo + 64L * h + l, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
                            IntVector l1 = ByteVector.fromMemorySegment(B, s, bo + 64L * h + 32 + l, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
                            IntVector qh = ByteVector.fromMemorySegment(B, s, bo + 128 + 32L * h + l, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
                            long sc = bo + 192 + 8L * h + l / 16;
                            int xo = o + 128 * h + l;
                            ByteVector q0 = l0.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, 4).and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                            ByteVector q1 = l1.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, 2).and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                            ByteVector q2 = l0.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qh.and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                            ByteVector q3 = l1.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHR, 2).and(0x30303030)).reinterpretAsBytes().sub((byte) 32);
                            ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc)).intoArray(dst, xo);
                            ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 2)).intoArray(dst, xo + 32);
                            ((FloatVector) q2.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 4)).intoArray(dst, xo + 64);
                            ((FloatVector) q3.convertShape(VectorOperators.B2F, F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 6)).intoArray(dst, xo + 96);
                        }
                    }
                }
                default -> throw new IllegalArgumentException(t + " is not a block type");
            }
        }
    }
}
