package dev.shardline.model.tensor;

/**
 * Element types of weight tensors that Shardline reads directly: the safetensors float types and the GGUF block
 * types Q8_0, Q4_K and Q6_K (layouts in {@link Quant} and docs/adr/0008). A block type stores {@link #blockSize()}
 * consecutive elements of a row in {@link #blockBytes()} bytes; a row's length must be a multiple of the block size.
 */
public enum DType {
    BF16(1, 2), F16(1, 2), F32(1, 4),
    /** 32 elements: f16 scale d, 32 x int8; x = d * q. 8.5 bits per weight. */
    Q8_0(32, 34),
    /** 256 elements: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks, 128 bytes of 4-bit q. */
    Q4_K(256, 144),
    /** 256 elements: 128 bytes low 4 bits, 64 bytes high 2 bits, 16 x int8 scales, f16 d; x = d * scale * (q - 32). */
    Q6_K(256, 210);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes per element of a plain (unquantized) type; a block type has none and throws. */
    public int bytes() {
        if (blockSize != 1) {
            throw new IllegalStateException(this + " is a block type: " + blockBytes + " bytes per " + blockSize
                    + " elements, not a fixed size per element");
        }
        return blockBytes;
    }

    /** Elements per block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block (the element size for plain types). */
    public int blockBytes() {
        return blockBytes;
    }

    public boolean quantized() {
        return blockSize != 1;
    }

    /** Bytes of {@code elements} elements; a block type needs a whole number of blocks. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements are not a whole number of " + this + " blocks of "
                    + blockSize);
        }
        return elements / blockSize * blockBytes;
    }

    /** The safetensors dtype string ("BF16", "F16", "F32"), or null when unsupported. */
    public static DType fromSafetensors(String name) {
        return switch (name) {
            case "BF16" -> BF16;
            case "F16" -> F16;
            case "F32" -> F32;
            default -> null;
        };
    }
}
