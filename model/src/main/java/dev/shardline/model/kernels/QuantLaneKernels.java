package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.I;
import static dev.shardline.model.kernels.VectorOps.ADDRESS_MASK;
import static dev.shardline.model.kernels.VectorOps.L;
import static dev.shardline.model.kernels.VectorOps.MEMORY;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * One-token Q4_K and Q6_K products in the quants' own lane order (the default; needs 16 float lanes, i.e.
 * AVX-512, else {@link QuantKernels} runs). A block's quant bytes are loaded 64 at a time as 16 int lanes and never
 * moved between lanes: each 4- or 6-bit quant is isolated where it lies in its int lane by one AND with a constant
 * mask (one shift for the top nibble), converted as it stands ({@code vcvtdq2ps}: the value times {@code 2^bit}),
 * and multiplied by the activation that belongs to that lane and bit position. The activations are permuted into
 * that order once per product ({@link #prepare}), each pre-multiplied by {@code 2^-bit} (exact), so the per-16-weight
 * work is AND, convert, activation load and FMA, with no byte widening ({@code vpmovzxbd}) or nibble split. They
 * live in a 64-byte aligned native buffer ({@link #allocateLanes}), read by address through a constant segment
 * ({@link VectorOps#MEMORY}), so none of those loads splits across two cache lines.
 *
 * <p>Each float vector of partial sums then holds four lanes per sub-block group of one or two (sub-)blocks; their
 * scales come as one vector per block (the eight Q4_K scales: a broadcast of the unpacked 64-bit word, widened; the
 * sixteen Q6_K scales: one 16-byte load, widened) times {@code d}, spread to the lanes with one constant
 * {@code rearrange} (vpermps) each. Q4_K's minimums and Q6_K's {@code -32} offset are one FMA per block with the
 * activations' sums over each sub-block (16 floats per block, from {@link #prepare}), accumulated as a vector.
 * As in {@link QuantKernels}, the vector code calls no helpers (C2 would box the vectors past its inlining budget).
 */
final class QuantLaneKernels {
    /** Whether this machine runs these kernels (16 float lanes: 64 bytes of quants per int vector). */
    static final boolean SUPPORTED = L == 16;

    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Long> LONGS = VectorSpecies.of(long.class, F.vectorShape());
    private static final VectorSpecies<Byte> BYTES16 = ByteVector.SPECIES_128;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    // Q4_K: int lanes 0-7 hold one 32-byte group (sub-blocks 2g low nibbles, 2g + 1 high), lanes 8-15 the next
    private static final VectorShuffle<Float> Q4_S0 = spread(0, 2);
    private static final VectorShuffle<Float> Q4_S1 = spread(1, 3);
    private static final VectorShuffle<Float> Q4_S2 = spread(4, 6);
    private static final VectorShuffle<Float> Q4_S3 = spread(5, 7);
    // Q6_K: four lanes per 16-weight scale group
    private static final VectorShuffle<Float> Q6_S0 = spread4(2, 3, 8, 9);
    private static final VectorShuffle<Float> Q6_S1 = spread4(6, 7, 12, 13);
    private static final VectorShuffle<Float> Q6_S2 = spread4(0, 1, 10, 11);
    private static final VectorShuffle<Float> Q6_S3 = spread4(4, 5, 14, 15);
    private static final VectorMask<Integer> UPPER8 = SUPPORTED ? VectorMask.fromLong(I, 0xFF00L) : null;
    private static final IntVector Q6_SHIFT_A = SUPPORTED ? IntVector.fromArray(I, new int[] {2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0}, 0) : null;
    private static final IntVector Q6_SHIFT_B = SUPPORTED ? IntVector.fromArray(I, new int[] {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2}, 0) : null;

    /** Per position in a block: the element whose activation goes there, and its factor 2^-bit. */
    private static final int[] Q4_FROM = new int[256];
    private static final float[] Q4_FACTOR = new float[256];
    private static final int[] Q6_FROM = new int[256];
    private static final float[] Q6_FACTOR = new float[256];

    static {
        // Q4_K: 64-byte chunk c, nibble j of the int lane (bits 4j..4j+3; j = 2 * byte + high), lane i
        for (int c = 0; c < 2; c++) {
            for (int j = 0; j < 8; j++) {
                for (int i = 0; i < 16; i++) {
                    int group = 2 * c + (i >> 3);
                    int pos = 128 * c + 16 * j + i;
                    Q4_FROM[pos] = 64 * group + 32 * (j & 1) + 4 * (i & 7) + (j >> 1);
                    Q4_FACTOR[pos] = j == 7 ? 1f : Math.scalb(1f, -4 * j);   // the top nibble is shifted down
                }
            }
        }
        // Q6_K: vector v (0: ql bytes 32-95, 1: ql 0-31 and 96-127), nibble n, byte b of the int lane, lane i
        for (int v = 0; v < 2; v++) {
            for (int n = 0; n < 2; n++) {
                for (int b = 0; b < 4; b++) {
                    for (int i = 0; i < 16; i++) {
                        int p = 4 * (i & 7) + b;
                        boolean upper = i >= 8;
                        int base = v == 0 ? (upper ? (n == 0 ? 128 : 192) : (n == 0 ? 32 : 96))
                                : (upper ? (n == 0 ? 160 : 224) : (n == 0 ? 0 : 64));
                        int pos = 128 * v + 64 * n + 16 * b + i;
                        Q6_FROM[pos] = base + p;
                        Q6_FACTOR[pos] = Math.scalb(1f, -8 * b);
                    }
                }
            }
        }
    }

    private QuantLaneKernels() {
    }

    private static VectorShuffle<Float> spread(int lower, int upper) {
        return spread4(lower, lower, upper, upper);
    }

    private static VectorShuffle<Float> spread4(int a, int b, int c, int d) {
        if (!SUPPORTED) return null;
        int[] idx = new int[16];
        for (int i = 0; i < 16; i++) idx[i] = new int[] {a, b, c, d}[i / 4];
        return VectorShuffle.fromArray(F, idx, 0);
    }

    /** Whether {@link #rows} handles this weight type here. */
    static boolean handles(DType t) {
        return SUPPORTED && (t == DType.Q4_K || t == DType.Q6_K);
    }

    /**
     * A buffer for {@link #prepare}'s lane-ordered activations of {@code k} columns, aligned to 64 bytes. Each block
     * loads 16 of its 64-byte vectors; from a heap array, whose address is only 8-byte aligned (and moves with the
     * collector), 7 alignments in 8 split every one of those loads across two cache lines: 0.72-0.85x the aligned
     * speed, and a different figure from one process to the next (docs/PERFORMANCE.md). The caller keeps the
     * segment reachable while {@link #rows} reads it by address.
     */
    static MemorySegment allocateLanes(int k) {
        return Arena.ofAuto().allocate(4L * k, 64);
    }

    /**
     * The activations for {@link #rows}: {@code xp[0, k)} in the lane order of {@code t}'s blocks, and per block
     * 16 sums {@code xs[16 b ..]} (Q4_K: over each 32-element sub-block, then 8 zeros; Q6_K: over each 16).
     */
    static void prepare(DType t, float[] x, int k, MemorySegment xp, float[] xs) {
        boolean q4 = t == DType.Q4_K;
        int[] from = q4 ? Q4_FROM : Q6_FROM;
        float[] factor = q4 ? Q4_FACTOR : Q6_FACTOR;
        int group = q4 ? 32 : 16;
        for (int b = 0; b < k / 256; b++) {
            int o = 256 * b;
            for (int i = 0; i < 256; i++) xp.setAtIndex(ValueLayout.JAVA_FLOAT, o + i, x[o + from[i]] * factor[i]);
            for (int g = 0; g < 16; g++) {
                float sum = 0;
                if (g < 256 / group) {
                    for (int i = 0; i < group; i++) sum += x[o + group * g + i];
                }
                xs[16 * b + g] = sum;
            }
        }
    }

    /**
     * {@code out[r] = sum_k x[k] w[r, k]} for rows [r0, r1), from {@link #prepare}'s activations (at native address
     * {@code xp}, a segment from {@link #allocateLanes} of at least {@code k} floats) and {@code xs}.
     * Two rows half the range apart run together, block by block in turn (two sequential streams for the
     * prefetcher: 1.3-1.6x one stream from memory, measured). One load instruction alternates between the two
     * rows, and that runs 0.5-0.9x as fast for some distances between them than for others (not for plain reads
     * of the same addresses, nor for a kernel with one load instruction per row; measured on one thread), so
     * callers give each thread one contiguous range ({@link CpuMatmul}).
     */
    static void rows(long xp, float[] xs, WeightTensor w, int k, int r0, int r1, float[] out) {
        MemorySegment seg = w.data();
        long rowBytes = w.dtype().bytesFor(k);
        int half = (r1 - r0) / 2;
        boolean q4 = w.dtype() == DType.Q4_K;
        // the kernels read the weights by address: the rows' extent and the segment are checked here, once
        if (!seg.isNative() || !seg.scope().isAlive()) {
            throw new IllegalArgumentException(w + ": the lane kernels need live native memory");
        }
        Objects.checkFromToIndex(r0 * rowBytes, r1 * rowBytes, seg.byteSize());
        long base = seg.address();
        for (int a = r0; a < r0 + (r1 - r0 + 1) / 2; a++) {
            int b = a + half;   // with an odd count the last pair is (r0 + half, r1 - 1): row r0 + half twice
            if (q4) {
                q4kRows2(xp, xs, base + a * rowBytes, base + b * rowBytes, k, out, a, b);
            } else {
                q6kRows2(xp, xs, base + a * rowBytes, base + b * rowBytes, k, out, a, b);
            }
        }
    }

    private static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }

    private static void q4kRows2(long xp, float[] xs, long o, long other, int k, float[] out, int r, int r2) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector mins = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector mins2 = FloatVector.zero(F);
        for (int step = 0; step < 2 * (k / 256); step++) {
            int b = step >> 1;
            long bo = (o + 144L * b) & ADDRESS_MASK;   // an address: see ADDRESS_MASK
            int w0 = MEMORY.get(INT_LE, bo + 4);
            int w1 = MEMORY.get(INT_LE, bo + 8);
            int w2 = MEMORY.get(INT_LE, bo + 12);
            long sc = (w0 & 0x3F3F3F3FL) | ((long) ((w2 & 0x0F0F0F0F) | ((w0 >>> 2) & 0x30303030)) << 32);
            long mn = (w1 & 0x3F3F3F3FL) | ((long) (((w2 >>> 4) & 0x0F0F0F0F) | ((w1 >>> 2) & 0x30303030)) << 32);
            // lanes 0-7: the eight scales (mins) as floats, lanes 8-15 the same again (their sums xs are 0)
            FloatVector sv = ((FloatVector) LongVector.broadcast(LONGS, sc).reinterpretAsBytes()
                    .convertShape(VectorOperators.B2F, F, 0)).mul(f16(MEMORY, bo));
            FloatVector mv = (FloatVector) LongVector.broadcast(LONGS, mn).reinterpretAsBytes()
                    .convertShape(VectorOperators.B2F, F, 0);
            mins = mv.mul(f16(MEMORY, bo + 2)).fma(FloatVector.fromArray(F, xs, 16 * b), mins);
            long xa = (xp + 1024L * b) & ADDRESS_MASK;
            IntVector v = IntVector.fromMemorySegment(I, MEMORY, bo + 16, ByteOrder.LITTLE_ENDIAN);
            FloatVector p0 = ((FloatVector) v.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xa, NATIVE));
            FloatVector p1 = ((FloatVector) v.and(0xF0).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xa + 64, NATIVE));
            p0 = ((FloatVector) v.and(0xF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 128, NATIVE), p0);
            p1 = ((FloatVector) v.and(0xF000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 192, NATIVE), p1);
            p0 = ((FloatVector) v.and(0xF0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 256, NATIVE), p0);
            p1 = ((FloatVector) v.and(0xF00000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 320, NATIVE), p1);
            p0 = ((FloatVector) v.and(0xF000000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 384, NATIVE), p0);
            p1 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 28).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 448, NATIVE), p1);
            IntVector u = IntVector.fromMemorySegment(I, MEMORY, bo + 80, ByteOrder.LITTLE_ENDIAN);
            FloatVector p2 = ((FloatVector) u.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xa + 512, NATIVE));
            FloatVector p3 = ((FloatVector) u.and(0xF0).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xa + 576, NATIVE));
            p2 = ((FloatVector) u.and(0xF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 640, NATIVE), p2);
            p3 = ((FloatVector) u.and(0xF000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 704, NATIVE), p3);
            p2 = ((FloatVector) u.and(0xF0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 768, NATIVE), p2);
            p3 = ((FloatVector) u.and(0xF00000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 832, NATIVE), p3);
            p2 = ((FloatVector) u.and(0xF000000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 896, NATIVE), p2);
            p3 = ((FloatVector) u.lanewise(VectorOperators.LSHR, 28).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xa + 960, NATIVE), p3);
            a0 = p0.fma(sv.rearrange(Q4_S0), a0);
            a1 = p1.fma(sv.rearrange(Q4_S1), a1);
            a2 = p2.fma(sv.rearrange(Q4_S2), a2);
            a3 = p3.fma(sv.rearrange(Q4_S3), a3);
            // the other row's accumulators and block pointer take turns with this row's: two streams in flight
            FloatVector t = a0;
            a0 = c0;
            c0 = t;
            t = a1;
            a1 = c1;
            c1 = t;
            t = a2;
            a2 = c2;
            c2 = t;
            t = a3;
            a3 = c3;
            c3 = t;
            t = mins;
            mins = mins2;
            mins2 = t;
            long swap = o;
            o = other;
            other = swap;
        }
        out[r] = a0.add(a1).add(a2.add(a3)).sub(mins).reduceLanes(VectorOperators.ADD);
        out[r2] = c0.add(c1).add(c2.add(c3)).sub(mins2).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q6_K: the first vector holds ql bytes 32-95 (lanes 0-7: first half, third and fourth quarters; lanes 8-15:
     * second half, first and second), the second ql bytes 0-31 and 96-127 (one blend); both meet qh's 64 bytes
     * in the same lanes, shifted by 2 bits where the quarter needs it. Per lane the four 6-bit quants of each nibble
     * row are then put together in bytes (as in {@link QuantKernels}) and taken out one byte at a time.
     */
    private static void q6kRows2(long xp, float[] xs, long o, long other, int k, float[] out, int r, int r2) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector offset = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector offset2 = FloatVector.zero(F);
        for (int step = 0; step < 2 * (k / 256); step++) {
            int b = step >> 1;
            long bo = (o + 210L * b) & ADDRESS_MASK;   // an address: see ADDRESS_MASK
            FloatVector sv = ((FloatVector) ByteVector.fromMemorySegment(BYTES16, MEMORY, bo + 192, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(f16(MEMORY, bo + 208));
            offset = sv.fma(FloatVector.fromArray(F, xs, 16 * b), offset);
            IntVector qh = IntVector.fromMemorySegment(I, MEMORY, bo + 128, ByteOrder.LITTLE_ENDIAN);
            IntVector qlA = IntVector.fromMemorySegment(I, MEMORY, bo + 32, ByteOrder.LITTLE_ENDIAN);
            IntVector qlB = IntVector.fromMemorySegment(I, MEMORY, bo, ByteOrder.LITTLE_ENDIAN)
                    .blend(IntVector.fromMemorySegment(I, MEMORY, bo + 64, ByteOrder.LITTLE_ENDIAN), UPPER8);
            IntVector qhA = qh.lanewise(VectorOperators.LSHR, Q6_SHIFT_A);
            IntVector qhB = qh.lanewise(VectorOperators.LSHR, Q6_SHIFT_B);
            IntVector loA = qlA.and(0x0F0F0F0F).or(qhA.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
            IntVector hiA = qlA.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qhA.and(0x30303030));
            IntVector loB = qlB.and(0x0F0F0F0F).or(qhB.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
            IntVector hiB = qlB.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qhB.and(0x30303030));
            int xo = 256 * b;
            FloatVector p0 = ((FloatVector) loA.and(0x3F).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * xo, NATIVE));
            p0 = ((FloatVector) loA.and(0x3F00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 16), NATIVE), p0);
            p0 = ((FloatVector) loA.and(0x3F0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 32), NATIVE), p0);
            p0 = ((FloatVector) loA.and(0x3F000000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 48), NATIVE), p0);
            FloatVector p1 = ((FloatVector) hiA.and(0x3F).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 64), NATIVE));
            p1 = ((FloatVector) hiA.and(0x3F00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 80), NATIVE), p1);
            p1 = ((FloatVector) hiA.and(0x3F0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 96), NATIVE), p1);
            p1 = ((FloatVector) hiA.and(0x3F000000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 112), NATIVE), p1);
            FloatVector p2 = ((FloatVector) loB.and(0x3F).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 128), NATIVE));
            p2 = ((FloatVector) loB.and(0x3F00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 144), NATIVE), p2);
            p2 = ((FloatVector) loB.and(0x3F0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 160), NATIVE), p2);
            p2 = ((FloatVector) loB.and(0x3F000000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 176), NATIVE), p2);
            FloatVector p3 = ((FloatVector) hiB.and(0x3F).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 192), NATIVE));
            p3 = ((FloatVector) hiB.and(0x3F00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 208), NATIVE), p3);
            p3 = ((FloatVector) hiB.and(0x3F0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 224), NATIVE), p3);
            p3 = ((FloatVector) hiB.and(0x3F000000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, MEMORY, xp + 4L * (xo + 240), NATIVE), p3);
            a0 = p0.fma(sv.rearrange(Q6_S0), a0);
            a1 = p1.fma(sv.rearrange(Q6_S1), a1);
            a2 = p2.fma(sv.rearrange(Q6_S2), a2);
            a3 = p3.fma(sv.rearrange(Q6_S3), a3);
            // the other row's accumulators and block pointer take turns with this row's: two streams in flight
            FloatVector t = a0;
            a0 = c0;
            c0 = t;
            t = a1;
            a1 = c1;
            c1 = t;
            t = a2;
            a2 = c2;
            c2 = t;
            t = a3;
            a3 = c3;
            c3 = t;
            t = offset;
            offset = offset2;
            offset2 = t;
            long swap = o;
            o = other;
            other = swap;
        }
        out[r] = a0.add(a1).add(a2.add(a3)).sub(offset.mul(32f)).reduceLanes(VectorOperators.ADD);
        out[r2] = c0.add(c1).add(c2.add(c3)).sub(offset2.mul(32f)).reduceLanes(VectorOperators.ADD);
    }
}
