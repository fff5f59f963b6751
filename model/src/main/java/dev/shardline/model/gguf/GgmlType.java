package dev.shardline.model.gguf;

import dev.shardline.model.tensor.DType;

/**
 * The ggml tensor types a GGUF file may name (id, block size, block bytes, as in ggml.h), so that every tensor's
 * byte extent can be checked against the file even when Shardline cannot compute with its type. {@link #dtype()}
 * is the type Shardline reads, or null for the others (a clear error when such a tensor is used).
 */
public enum GgmlType {
    F32(0, 1, 4, DType.F32), F16(1, 1, 2, DType.F16), Q4_0(2, 32, 18, null), Q4_1(3, 32, 20, null),
    Q5_0(6, 32, 22, null), Q5_1(7, 32, 24, null), Q8_0(8, 32, 34, DType.Q8_0), Q8_1(9, 32, 36, null),
    Q2_K(10, 256, 84, null), Q3_K(11, 256, 110, null), Q4_K(12, 256, 144, DType.Q4_K), Q5_K(13, 256, 176, null),
    Q6_K(14, 256, 210, DType.Q6_K), Q8_K(15, 256, 292, null), IQ2_XXS(16, 256, 66, null), IQ2_XS(17, 256, 74, null),
    IQ3_XXS(18, 256, 98, null), IQ1_S(19, 256, 50, null), IQ4_NL(20, 32, 18, null), IQ3_S(21, 256, 110, null),
    IQ2_S(22, 256, 82, null), IQ4_XS(23, 256, 136, null), I8(24, 1, 1, null), I16(25, 1, 2, null),
    I32(26, 1, 4, null), I64(27, 1, 8, null), F64(28, 1, 8, null), IQ1_M(29, 256, 56, null),
    BF16(30, 1, 2, DType.BF16), TQ1_0(34, 256, 54, null), TQ2_0(35, 256, 66, null), MXFP4(39, 32, 17, null);

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final DType dtype;

    GgmlType(int id, int blockSize, int blockBytes, DType dtype) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.dtype = dtype;
    }

    public int id() {
        return id;
    }

    public int blockSize() {
        return blockSize;
    }

    /** The Shardline dtype, or null when Shardline does not compute with this type. */
    public DType dtype() {
        return dtype;
    }

    /** Bytes of a tensor whose rows hold {@code rowLength} elements, or -1 when rows are not whole blocks. */
    public long bytesFor(long rowLength, long elements) {
        if (rowLength % blockSize != 0) {
            return -1;
        }
        return elements / blockSize * blockBytes;
    }

    /** The type with this id, or null. */
    public static GgmlType of(long id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** The GGUF type of a Shardline dtype (for the writer). */
    public static GgmlType of(DType d) {
        for (GgmlType t : values()) {
            if (t.dtype == d) {
                return t;
            }
        }
        throw new IllegalArgumentException("no ggml type for " + d);
    }
}
