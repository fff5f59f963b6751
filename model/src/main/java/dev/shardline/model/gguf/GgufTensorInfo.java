package dev.shardline.model.gguf;

import java.util.Arrays;

/**
 * One tensor of a GGUF file as its header describes it. {@code ne} is ggml's order (ne[0] = the row length, the
 * innermost dimension); {@link #shape()} is the row-major (PyTorch) order, so a ggml {@code [K, N]} weight is the
 * {@code nn.Linear} {@code [N, K]}. {@code offset} is relative to the start of the file's data section.
 */
public record GgufTensorInfo(String name, long[] ne, GgmlType type, long offset, long byteSize) {

    public GgufTensorInfo {
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    /** Dimensions outermost first. */
    public long[] shape() {
        long[] s = new long[ne.length];
        for (int i = 0; i < ne.length; i++) {
            s[i] = ne[ne.length - 1 - i];
        }
        return s;
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape());
    }
}
