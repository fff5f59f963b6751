package dev.shardline.model.kernels;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Random weights and activations for kernel tests, and the error metric they share. */
final class TestTensors {
    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TestTensors() {
    }

    /**
     * A tensor of random values with magnitudes in [2^-7, 2) and random signs, in a shared arena (the worker
     * threads read it). bf16/f16 bits are generated directly, four values per random long, so the 283 MB
     * [27648, 5120] matrix takes a fraction of a second.
     */
    static WeightTensor random(Arena arena, String name, DType dtype, SplittableRandom rnd, long... shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        MemorySegment seg = arena.allocate(dtype.bytesFor(count), 64);
        switch (dtype) {
            case Q8_0, Q4_K, Q6_K -> randomBlocks(seg, dtype, rnd);
            case BF16, F16 -> {
                long i = 0;
                for (; i + 4 <= count; i += 4) {
                    long bits = 0;
                    for (int j = 0; j < 4; j++) {
                        bits |= (halfBits(dtype, rnd.nextInt()) & 0xffffL) << (16 * j);
                    }
                    seg.set(LONG_LE, i * 2, bits);
                }
                for (; i < count; i++) {
                    seg.set(SHORT_LE, i * 2, halfBits(dtype, rnd.nextInt()));
                }
            }
            case F32 -> {
                for (long i = 0; i < count; i++) {
                    seg.set(FLOAT_LE, i * 4, (float) (rnd.nextDouble() * 2 - 1));
                }
            }
        }
        return new WeightTensor(name, dtype, shape, seg);
    }

    /**
     * Random quants and scale bytes, with each block's f16 scales ({@code d}, and Q4_K's {@code dmin}) set to
     * magnitudes 2^-7 .. 2^-5 so that the values are of order one, like real weights.
     */
    private static void randomBlocks(MemorySegment seg, DType dtype, SplittableRandom rnd) {
        long bytes = seg.byteSize();
        long i = 0;
        for (; i + 8 <= bytes; i += 8) seg.set(LONG_LE, i, rnd.nextLong());
        for (; i < bytes; i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        int bb = dtype.blockBytes();
        for (long b = 0; b < bytes; b += bb) {
            switch (dtype) {
                case Q8_0 -> seg.set(SHORT_LE, b, scaleBits(rnd, true));
                case Q4_K -> {
                    seg.set(SHORT_LE, b, scaleBits(rnd, false));
                    seg.set(SHORT_LE, b + 2, scaleBits(rnd, false));
                }
                case Q6_K -> seg.set(SHORT_LE, b + 208, scaleBits(rnd, true));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
    }

    private static short scaleBits(SplittableRandom rnd, boolean signed) {
        float v = (float) Math.scalb(1.0 + rnd.nextDouble(), -7 - rnd.nextInt(3)) / 8;
        return Float.floatToFloat16(signed && rnd.nextBoolean() ? -v : v);
    }

    /** The plain (unquantized) dtypes. */
    static final DType[] PLAIN = {DType.BF16, DType.F16, DType.F32};

    /** Random 16-bit float bits: random sign and mantissa, exponent for 2^-7 .. 2^0. */
    private static short halfBits(DType dtype, int r) {
        int sign = (r >>> 31) << 15;
        int e3 = (r >>> 12) & 7;
        if (dtype == DType.BF16) {
            return (short) (sign | ((120 + e3) << 7) | (r & 0x7f));
        }
        return (short) (sign | ((8 + e3) << 10) | (r & 0x3ff));
    }

    static float[] floats(SplittableRandom rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** Rows [from, to) of matrix w, as a tensor of its own (a slice of the same bytes). */
    static WeightTensor rows(WeightTensor w, int from, int to) {
        long rowBytes = w.rowBytes();
        return new WeightTensor(w.name() + "[" + from + ":" + to + "]", w.dtype(),
                new long[] {to - from, w.cols()}, w.data().asSlice(from * rowBytes, (to - from) * rowBytes));
    }

    /** Elements [from, to) of vector v, as a tensor of its own. */
    static WeightTensor rows1d(WeightTensor v, int from, int to) {
        long bytes = v.dtype().bytes();
        return new WeightTensor(v.name() + "[" + from + ":" + to + "]", v.dtype(), new long[] {to - from},
                v.data().asSlice(from * bytes, (to - from) * bytes));
    }

    /**
     * Normalised error: max |a[i] - b[i]| / (max |b[i]| + 1e-6) over the first n elements, b the reference.
     * Scale-free, and dominated by the worst element, so a single wrong output fails the test.
     */
    static double error(float[] a, float[] b, int n) {
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < n; i++) {
            if (Float.isNaN(a[i]) != Float.isNaN(b[i])) {
                return Double.POSITIVE_INFINITY;
            }
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            maxRef = Math.max(maxRef, Math.abs(b[i]));
        }
        return maxDiff / (maxRef + 1e-6);
    }
}
