package dev.shardline.model.safetensors;

import dev.shardline.model.tensor.DType;

import java.util.Arrays;

/**
 * One tensor as a safetensors header describes it: name, dtype, shape and its byte range [begin, end) relative to the
 * start of the file's data area (the byte after the header).
 */
public record TensorEntry(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorEntry {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return end - begin;
    }

    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry t && t.name.equals(name) && t.dtype == dtype && Arrays.equals(t.shape, shape)
                && t.begin == begin && t.end == end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Long.hashCode(begin);
    }
}
