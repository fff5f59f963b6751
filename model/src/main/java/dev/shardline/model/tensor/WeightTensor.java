package dev.shardline.model.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A read-only weight tensor: a name, a dtype, a shape and the little-endian bytes behind it, usually a slice of a
 * memory-mapped safetensors file. Matrices use the {@code nn.Linear} layout {@code [out_features, in_features]},
 * row-major, so row {@code n} holds the weights of output {@code n}.
 */
public record WeightTensor(String name, DType dtype, long[] shape, MemorySegment data) {

    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public WeightTensor {
        shape = shape.clone();
        long elements = 1;
        for (long d : shape) {
            elements *= d;
        }
        if (dtype.quantized() && (shape.length == 0 || shape[shape.length - 1] % dtype.blockSize() != 0)) {
            throw new IllegalArgumentException("tensor " + name + ": " + dtype + " needs rows that are a multiple of "
                    + dtype.blockSize() + " elements, shape is " + Arrays.toString(shape));
        }
        long expected = dtype.bytesFor(elements);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes for shape "
                    + Arrays.toString(shape) + " " + dtype + " (expected " + expected + ")");
        }
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** Rows of a matrix (out_features), or the length of a vector. */
    public int rows() {
        return (int) shape[0];
    }

    /** Columns of a matrix (in_features); 1 for a vector. */
    public int cols() {
        return shape.length > 1 ? (int) shape[1] : 1;
    }

    /** Element i (flat index) as float, whatever the dtype. Slow path for the reference backend and tests. */
    public float get(long i) {
        return switch (dtype) {
            case BF16 -> bf16ToFloat(data.get(SHORT_LE, i * 2));
            case F16 -> Float.float16ToFloat(data.get(SHORT_LE, i * 2));
            case F32 -> data.get(FLOAT_LE, i * 4);
            case Q8_0, Q4_K, Q6_K -> Quant.element(dtype, data, i);
        };
    }

    /** Copies elements [from, from + out.length) into out as floats (block types: whole blocks decoded once each). */
    public void read(long from, float[] out) {
        if (dtype.quantized() && from % dtype.blockSize() == 0 && out.length % dtype.blockSize() == 0) {
            Quant.dequantize(dtype, data, from / dtype.blockSize(), out.length / dtype.blockSize(), out, 0);
            return;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = get(from + i);
        }
    }

    /** Bytes of one row of a matrix (its last dimension), in any dtype. */
    public long rowBytes() {
        return dtype.bytesFor(shape[shape.length - 1]);
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest even, as PyTorch does when casting float32 to bfloat16. NaN stays NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }
}
