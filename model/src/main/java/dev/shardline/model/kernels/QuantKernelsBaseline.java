package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.I;
import static dev.shardline.model.kernels.VectorOps.L;
import static dev.shardline.model.kernels.QuantKernels.B;
import static dev.shardline.model.kernels.QuantKernels.VECTOR;

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

/**
 * The first one-token quantized kernels (one row at a time, one accumulator), kept only as the baseline that
 * {@link QuantBench} measures the current {@link QuantKernels} against in the same process, and that the backend
 * {@code cpu-first-quant} runs for one-token products (end-to-end A/B runs: {@code bench --backend cpu-first-quant}).
 */
final class QuantKernelsBaseline {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private QuantKernelsBaseline() {
    }

    private static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }

    /** {@code out[r] = sum_k x[k] w[r, k]} for rows [r0, r1) of a block-type matrix; {@code xs} from {@link #subBlockSums}. */
    static void rows(float[] x, float[] xs, WeightTensor w, int k, int r0, int r1, float[] out) {
        MemorySegment seg = w.data();
        long rowBytes = w.dtype().bytesFor(k);
        float[] block = w.dtype() == DType.Q6_K ? new float[256] : null;
        for (int r = r0; r < r1; r++) {
            long o = r * rowBytes;
            out[r] = !VECTOR ? 0f : switch (w.dtype()) {
                case Q8_0 -> q8Row(x, seg, o, k);
                case Q4_K -> q4kRow(x, xs, seg, o, k);
                case Q6_K -> q6kRow(x, seg, (long) r * (k / 256), k, block);
                default -> throw new IllegalArgumentException(w + " is not a block type");
            };
        }
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
            QuantKernels.decode(DType.Q6_K, s, firstBlock + b, 1, block, 0);
            for (int i = 0; i < 256; i += L) {
                acc = FloatVector.fromArray(F, block, i).fma(FloatVector.fromArray(F, x, 256 * b + i), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }


    /** The first {@link QuantKernels#decode} (int-lane unpacking). */
    static void decode(DType t, MemorySegment s, long first, long blocks, float[] dst, int off) {
        if (!VECTOR) {
            dev.shardline.model.tensor.Quant.dequantize(t, s, first, blocks, dst, off);
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
