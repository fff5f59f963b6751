package dev.shardline.worker.cuda;

import java.lang.foreign.MemorySegment;

/**
 * One cudaMalloc allocation (never managed memory), freed deterministically by {@link #close()}. Copies are
 * queued on the process's stream (uploads return once the source is staged, downloads once the data is here)
 * and bounds-checked against the buffer's size.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final long bytes;
    private long ptr;

    private DeviceBuffer(long ptr, long bytes) {
        this.ptr = ptr;
        this.bytes = bytes;
    }

    /** cudaMalloc of {@code bytes} (> 0); throws {@link CudaException} naming the size when it fails. */
    public static DeviceBuffer allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("device buffer size must be > 0, got " + bytes);
        }
        CudaNative.ensureLoaded();
        long[] out = new long[1];
        CudaException.check("cudaMalloc(" + bytes + " bytes)", CudaNative.malloc(bytes, out));
        return new DeviceBuffer(out[0], bytes);
    }

    /** A buffer holding {@code values}; freed again when the upload fails (the caller never sees it). */
    public static DeviceBuffer ofFloats(float[] values) {
        DeviceBuffer b = allocate(4L * values.length);
        try {
            b.upload(values);
            return b;
        } catch (RuntimeException e) {
            try {
                b.close();
            } catch (RuntimeException freeFailed) {
                e.addSuppressed(freeFailed);
            }
            throw e;
        }
    }

    /** The device pointer; 0 after close. */
    public long ptr() {
        return ptr;
    }

    public long bytes() {
        return bytes;
    }

    public void upload(float[] src) {
        fits(4L * src.length);
        CudaException.check("copy float[] to device", CudaNative.copyFloatsToDevice(src, 0, ptr, src.length));
    }

    public void download(float[] dst) {
        fits(4L * dst.length);
        CudaException.check("copy device to float[]", CudaNative.copyFloatsToHost(ptr, dst, 0, dst.length));
    }

    public void upload(short[] src) {
        fits(2L * src.length);
        CudaException.check("copy short[] to device", CudaNative.copyShortsToDevice(src, 0, ptr, src.length));
    }

    public void download(short[] dst) {
        fits(2L * dst.length);
        CudaException.check("copy device to short[]", CudaNative.copyShortsToHost(ptr, dst, 0, dst.length));
    }

    /** Copies a native segment (e.g. a memory-mapped bf16 tensor) to the start of this buffer. */
    public void upload(MemorySegment src) {
        if (!src.isNative()) {
            throw new IllegalArgumentException("upload(MemorySegment) needs a native segment, got a heap segment");
        }
        fits(src.byteSize());
        CudaException.check("copy segment to device", CudaNative.copyAddressToDevice(src.address(), ptr, src.byteSize()));
    }

    private void fits(long n) {
        if (ptr == 0) {
            throw new IllegalStateException("device buffer already freed");
        }
        if (n > bytes) {
            throw new IllegalArgumentException("copy of " + n + " bytes into a device buffer of " + bytes);
        }
    }

    @Override
    public void close() {
        if (ptr != 0) {
            long p = ptr;
            ptr = 0;
            CudaException.check("cudaFree", CudaNative.free(p));
        }
    }
}
