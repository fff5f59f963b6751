package dev.shardline.worker.cuda;

import java.util.Locale;

/**
 * How the CUDA backend's KV cache holds keys and values in device memory (worker key {@code cuda-kv-dtype}). The
 * activations and all attention arithmetic stay f32; only the cache's storage changes.
 */
public enum KvDtype {
    /** Rounded to nearest even on store, widened on load: half the memory of f32, about 3 significant digits. */
    BF16(2),
    /** As computed: the reference's cache. */
    F32(4);

    private final int bytes;

    KvDtype(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per cached element. */
    public int bytes() {
        return bytes;
    }

    /** {@code bf16} or {@code f32} (any case); null for anything else. */
    public static KvDtype parse(String s) {
        if (s == null) return null;
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "bf16" -> BF16;
            case "f32" -> F32;
            default -> null;
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
