package dev.shardline.coordinator.cluster;

/** How hidden states travel between stages: bf16 (half the bytes) or f32 (exact; one process's tokens). */
public enum ActivationFormat {
    BF16, F32;

    public static ActivationFormat parse(String s) {
        return switch (s) {
            case "bf16" -> BF16;
            case "f32" -> F32;
            default -> throw new IllegalArgumentException("activation dtype must be bf16 or f32, got " + s);
        };
    }
}
