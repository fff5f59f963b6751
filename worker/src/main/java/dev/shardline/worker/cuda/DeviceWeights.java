package dev.shardline.worker.cuda;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The device copies of a stage's weights, uploaded once and found again by tensor identity. Matrices (matmul,
 * embedding) must be BF16 and are copied byte for byte; vectors (norm weights, biases) of any dtype are widened to
 * f32 on the host (exact) and uploaded as f32.
 */
final class DeviceWeights implements AutoCloseable {
    private static final long STAGING_BYTES = 64L << 20;   // heap segments are staged through native memory

    private final Map<WeightTensor, DeviceBuffer> matrices = new IdentityHashMap<>();
    private final Map<WeightTensor, DeviceBuffer> vectors = new IdentityHashMap<>();
    private long bytes;

    /** The bf16 [rows, cols] matrix on the device; uploads it on first use. */
    long matrix(WeightTensor t) {
        DeviceBuffer b = matrices.get(t);
        if (b == null) {
            if ((t.dtype() != DType.BF16 && !t.dtype().quantized()) || t.shape().length != 2) {
                throw new IllegalArgumentException("cuda backend: matrix " + t.name() + " is " + t.dtype()
                        + java.util.Arrays.toString(t.shape()) + "; only 2-D BF16 (or Q8_0/Q4_K/Q6_K, widened to "
                        + "BF16 on load) matrices are supported");
            }
            b = DeviceBuffer.allocate(2 * t.elementCount());
            try {
                if (t.dtype().quantized()) {
                    uploadDequantized(t, b);   // dequantize on load: the GPU kernels compute in bf16
                } else {
                    upload(t.data(), b, t.name());
                }
            } catch (RuntimeException e) {
                b.close();
                throw e;
            }
            matrices.put(t, b);
            bytes += b.bytes();
        }
        return b.ptr();
    }

    /** The vector as f32 on the device (0 for null); uploads it on first use. */
    long vector(WeightTensor t) {
        if (t == null) {
            return 0;
        }
        DeviceBuffer b = vectors.get(t);
        if (b == null) {
            if (t.elementCount() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("cuda backend: vector " + t.name() + " is too long");
            }
            float[] values = new float[(int) t.elementCount()];
            t.read(0, values);                                   // bf16/f16 -> f32 is exact
            b = DeviceBuffer.ofFloats(values);
            vectors.put(t, b);
            bytes += b.bytes();
        }
        return b.ptr();
    }

    /** Device bytes held. */
    long bytes() {
        return bytes;
    }

    /**
     * A block-type matrix dequantized (exactly, as the reference does) and rounded to bf16 row by row into staging
     * memory, then copied to the device: the GPU holds bf16 (about 3.8x a Q4_K_M file's bytes, 1.9x a Q8_0's).
     */
    private static void uploadDequantized(WeightTensor t, DeviceBuffer dst) {
        int cols = t.cols();
        int rowsPerChunk = (int) Math.max(1, Math.min(t.rows(), STAGING_BYTES / (2L * cols)));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(2L * cols * rowsPerChunk, 16);
            for (int r = 0; r < t.rows(); r += rowsPerChunk) {
                int n = Math.min(rowsPerChunk, t.rows() - r);
                Bf16Widening.rows(t, r, n, staging);
                CudaException.check("upload " + t.name() + " (rows " + r + ".." + (r + n) + ", dequantized to bf16)",
                        CudaNative.copyAddressToDevice(staging.address(), dst.ptr() + 2L * cols * r, 2L * cols * n));
            }
        }
    }

    private static void upload(MemorySegment src, DeviceBuffer dst, String name) {
        if (src.isNative()) {
            CudaException.check("upload " + name + " (" + src.byteSize() + " bytes)",
                    CudaNative.copyAddressToDevice(src.address(), dst.ptr(), src.byteSize()));
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(Math.min(STAGING_BYTES, src.byteSize()), 16);
            for (long at = 0; at < src.byteSize(); at += staging.byteSize()) {
                long n = Math.min(staging.byteSize(), src.byteSize() - at);
                staging.copyFrom(src.asSlice(at, n));
                CudaException.check("upload " + name + " (bytes " + at + ".." + (at + n) + ")",
                        CudaNative.copyAddressToDevice(staging.address(), dst.ptr() + at, n));
            }
        }
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (Map<WeightTensor, DeviceBuffer> m : java.util.List.of(matrices, vectors)) {
            for (DeviceBuffer b : m.values()) {
                try {
                    b.close();
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                }
            }
            m.clear();
        }
        bytes = 0;
        if (first != null) throw first;
    }
}
