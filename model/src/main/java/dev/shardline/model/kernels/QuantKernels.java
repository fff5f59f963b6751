package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.I;
import static dev.shardline.model.kernels.VectorOps.L;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.Quant;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * <p>Decode ({@link #rows}): each block is unpacked in registers, {@code L} quants at a time: the bytes are loaded as
 * a {@code ByteVector} of {@code L} lanes, nibbles or bit pairs split with byte shifts and masks, widened to float
 * lanes ({@code castShape}, vpmovsxbd + vcvtdq2ps) and multiplied by the block's scale and the activations (one FMA).
 * Q4_K's per-sub-block minimum is applied once per sub-block through the activations' sums over that sub-block,
 * which every row shares ({@link #subBlockSums}). Activations stay f32: the Vector API has no int8 dot product, so
 * quantizing them to int8 would add conversions without removing any.
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

    private QuantKernels() {
    }

    private static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }



    /**
     * L bytes as unsigned int lanes. Nibbles and bit pairs are split in int lanes: x86 has no byte shifts, and C2's
     * byte-lane shifts cost several instructions each (measured 2x slower for Q4_K, 5x for Q6_K).
     */


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

    /** {@code out[r] = sum_k x[k] w[r, k]} for rows [r0, r1) of a block-type matrix; {@code xs} from {@link #subBlockSums}. */
    static void rows(float[] x, float[] xs, WeightTensor w, int k, int r0, int r1, float[] out) {
        MemorySegment seg = w.data();
        long rowBytes = w.dtype().bytesFor(k);
        float[] block = w.dtype() == DType.Q6_K ? new float[256] : null;
        for (int r = r0; r < r1; r++) {
            long o = r * rowBytes;
            out[r] = !VECTOR ? scalarRow(x, 0, w, k, r) : switch (w.dtype()) {
                case Q8_0 -> q8Row(x, seg, o, k);
                case Q4_K -> q4kRow(x, xs, seg, o, k);
                case Q6_K -> q6kRow(x, seg, (long) r * (k / 256), k, block);
                default -> throw new IllegalArgumentException(w + " is not a block type");
            };
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

    private static float q8Row(float[] x, MemorySegment s, long o, int k) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0, xi = 0; b < k / 32; b++, xi += 32) {
            long bo = o + 34L * b;
            float d = f16(s, bo);
            for (int j = 0; j < 32; j += L) {
                acc = ((FloatVector) ByteVector.fromMemorySegment(B, s, bo + 2 + j, ByteOrder.LITTLE_ENDIAN).castShape(F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi + j), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static float q4kRow(float[] x, float[] xs, MemorySegment s, long o, int k) {
        FloatVector acc = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < k / 256; b++) {
            long bo = o + 144L * b;
            float d = f16(s, bo);
            float dmin = f16(s, bo + 2);
            for (int g = 0; g < 4; g++) {
                int sm0 = Quant.scaleMin(s, bo, 2 * g);
                int sm1 = Quant.scaleMin(s, bo, 2 * g + 1);
                float d1 = d * (sm0 & 0xff);
                float d2 = d * (sm1 & 0xff);
                mins += dmin * (sm0 >> 8) * xs[8 * b + 2 * g] + dmin * (sm1 >> 8) * xs[8 * b + 2 * g + 1];
                int xi = 256 * b + 64 * g;
                for (int j = 0; j < 32; j += L) {
                    IntVector q = ((IntVector) ByteVector.fromMemorySegment(B, s, bo + 16 + 32L * g + j, ByteOrder.LITTLE_ENDIAN).castShape(I, 0)).and(0xFF);
                    acc = ((FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0)).mul(d1).fma(FloatVector.fromArray(F, x, xi + j), acc);
                    acc = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(d2)
                            .fma(FloatVector.fromArray(F, x, xi + 32 + j), acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    /**
     * Q6_K decodes each block into 256 floats of scratch (L1) and then takes the dot product: the in-register form
     * (four quarters of shifts, masks and FMAs in one loop) grew past what C2 compiles well and ran 20x slower.
     */
    private static float q6kRow(float[] x, MemorySegment s, long firstBlock, int k, float[] block) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < k / 256; b++) {
            decode(DType.Q6_K, s, firstBlock + b, 1, block, 0);
            for (int i = 0; i < 256; i += L) {
                acc = FloatVector.fromArray(F, block, i).fma(FloatVector.fromArray(F, x, 256 * b + i), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
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
                    for (int j = 0; j < 32; j += L) ((FloatVector) ByteVector.fromMemorySegment(B, s, bo + 2 + j, ByteOrder.LITTLE_ENDIAN).castShape(F, 0)).mul(d).intoArray(dst, o + j);
                }
                case Q4_K -> {
                    float d = f16(s, bo);
                    float dmin = f16(s, bo + 2);
                    for (int g = 0; g < 4; g++) {
                        int sm0 = Quant.scaleMin(s, bo, 2 * g);
                        int sm1 = Quant.scaleMin(s, bo, 2 * g + 1);
                        float d1 = d * (sm0 & 0xff);
                        float m1 = dmin * (sm0 >> 8);
                        float d2 = d * (sm1 & 0xff);
                        float m2 = dmin * (sm1 >> 8);
                        for (int j = 0; j < 32; j += L) {
                            IntVector q = ((IntVector) ByteVector.fromMemorySegment(B, s, bo + 16 + 32L * g + j, ByteOrder.LITTLE_ENDIAN).castShape(I, 0)).and(0xFF);
                            ((FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(dst, o + 64 * g + j);
                            ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(d2).sub(m2).intoArray(dst, o + 64 * g + 32 + j);
                        }
                    }
                }
                case Q6_K -> {
                    float d = f16(s, bo + 208);
                    for (int h = 0; h < 2; h++) {
                        for (int l = 0; l < 32; l += L) {
                            IntVector ql0 = ((IntVector) ByteVector.fromMemorySegment(B, s, bo + 64L * h + l, ByteOrder.LITTLE_ENDIAN).castShape(I, 0)).and(0xFF);
                            IntVector ql1 = ((IntVector) ByteVector.fromMemorySegment(B, s, bo + 64L * h + 32 + l, ByteOrder.LITTLE_ENDIAN).castShape(I, 0)).and(0xFF);
                            IntVector qh = ((IntVector) ByteVector.fromMemorySegment(B, s, bo + 128 + 32L * h + l, ByteOrder.LITTLE_ENDIAN).castShape(I, 0)).and(0xFF);
                            long sc = bo + 192 + 8L * h + l / 16;
                            int xo = o + 128 * h + l;
                            IntVector q0 = ql0.and(0xF).or(qh.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32);
                            IntVector q1 = ql1.and(0xF).or(qh.and(12).lanewise(VectorOperators.LSHL, 2)).sub(32);
                            IntVector q2 = ql0.lanewise(VectorOperators.LSHR, 4).or(qh.and(48)).sub(32);
                            IntVector q3 = ql1.lanewise(VectorOperators.LSHR, 4).or(qh.and(192).lanewise(VectorOperators.LSHR, 2)).sub(32);
                            ((FloatVector) q0.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc)).intoArray(dst, xo);
                            ((FloatVector) q1.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 2)).intoArray(dst, xo + 32);
                            ((FloatVector) q2.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 4)).intoArray(dst, xo + 64);
                            ((FloatVector) q3.convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + 6)).intoArray(dst, xo + 96);
                        }
                    }
                }
                default -> throw new IllegalArgumentException(t + " is not a block type");
            }
        }
    }
}
