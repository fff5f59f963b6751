package dev.shardline.model.kernels;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared Vector API pieces of the CPU backend: the preferred float species, and loads that widen bf16 / f32 / f16
 * weights straight from a (mapped) memory segment into float vectors or scratch arrays.
 */
final class VectorOps {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * All of native memory as one constant segment, for the one-token quantized kernels that read by address. C2
     * then knows the segment's class and scope; a segment passed as a parameter has its accessors bound through
     * type profiles shared with every other segment access in the process, and with those polluted the Q6_K lane
     * kernel compiled to 0.2-0.3x (vectors boxed and spilled, measured in {@code KernelBench quant}). Callers check
     * the extent and liveness of what they read once per call.
     */
    static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /**
     * User-space addresses fit in 47 bits; masking an address with this (a no-op on the value) tells C2 its range,
     * so it drops the bounds check (two or three instructions) of every {@link #MEMORY} load at a constant offset
     * from it. Measured in one JVM, alternating: the Q4_K lane kernel 1.14-1.32x, Q8_0's four-row loop 1.06-1.21x
     * at most shapes; the Q6_K lane kernel's weights 1.04-1.14x (its activation loads stay checked: 0.8x masked).
     */
    static final long ADDRESS_MASK = (1L << 47) - 1;

    private VectorOps() {
    }

    /** L f32 values at {@code byteOffset}. */
    static FloatVector f32(MemorySegment seg, long byteOffset) {
        return FloatVector.fromMemorySegment(F, seg, byteOffset, ByteOrder.LITTLE_ENDIAN);
    }

    static float bf16Scalar(MemorySegment seg, long byteOffset) {
        return Float.intBitsToFloat(seg.get(SHORT_LE, byteOffset) << 16);
    }

    /**
     * Widens elements {@code [from, from + n)} of {@code w} (flat index) into {@code dst[dstOff ..]}.
     * The only place weights become floats, and only in small per-thread scratch.
     */
    static void widen(WeightTensor w, long from, int n, float[] dst, int dstOff) {
        MemorySegment seg = w.data();
        DType dtype = w.dtype();
        int i = 0;
        switch (dtype) {
            case BF16 -> {
                // A plain loop that C2 vectorises by itself (0.36 ns per element here). The Vector API form
                // (ShortVector.convertShape(S2I) + shift + reinterpret) is faster only when C2 inlines convertShape
                // into the caller; in worker processes it compiled convertShape out of line, where the target
                // species is not a constant, and every call took the allocating fallback
                // (AbstractVector.convert0: a third of a stage's CPU samples in JFR).
                long base = from * 2;
                for (; i < n; i++) {
                    dst[dstOff + i] = bf16Scalar(seg, base + 2L * i);
                }
            }
            case F32 -> {
                long base = from * 4;
                for (int bound = F.loopBound(n); i < bound; i += L) {
                    f32(seg, base + 4L * i).intoArray(dst, dstOff + i);
                }
                for (; i < n; i++) {
                    dst[dstOff + i] = seg.get(FLOAT_LE, base + 4L * i);
                }
            }
            case F16 -> {
                long base = from * 2;
                for (; i < n; i++) {
                    dst[dstOff + i] = Float.float16ToFloat(seg.get(SHORT_LE, base + 2L * i));
                }
            }
            case Q8_0, Q4_K, Q6_K -> QuantBlocks.widen(w, from, n, dst, dstOff);
        }
    }
}
