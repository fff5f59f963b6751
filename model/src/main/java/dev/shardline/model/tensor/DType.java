package dev.shardline.model.tensor;

/** Element types of weight tensors that Shardline reads directly (safetensors dtype names). */
public enum DType {
    BF16(2), F16(2), F32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
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
