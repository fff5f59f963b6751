package dev.shardline.worker.cuda;

import java.util.function.ObjIntConsumer;

/**
 * Pinned host memory (cudaHostAlloc) for one kind of per-step transfer (the attention batch, token ids, sampling
 * parameters, sampled ids), so the copy is a true asynchronous DMA on the process's stream. {@link #begin} waits for
 * the previous copy out of the buffer (an event recorded after it), so the host never overwrites bytes a queued
 * copy still reads; {@link #upload} queues without waiting; {@link #download} waits for the stream (it is the step's
 * synchronisation point). The buffer grows (doubling) and is freed by {@link #close}. One user thread.
 */
final class PinnedStaging implements AutoCloseable {
    private final String name;
    private final ObjIntConsumer<String> check;
    private long handle;
    private long bytes;

    /**
     * @param name  what the buffer carries, for error messages ("attention batch")
     * @param check turns a failed call's (op, cudaError_t) into an exception (CudaKernels attributes faults)
     */
    PinnedStaging(String name, ObjIntConsumer<String> check) {
        this.name = name;
        this.check = check;
    }

    /** A buffer whose errors are plain {@link CudaException}s. */
    PinnedStaging(String name) {
        this(name, CudaException::check);
    }

    /** Waits for the last copy and makes room for {@code need} bytes; call before the puts of one transfer. */
    void begin(long need) {
        if (handle != 0) {
            check("wait for the " + name + " staging buffer", CudaNative.stagingWait(handle));
        }
        if (need > bytes || handle == 0) {
            long size = Math.max(4096, Math.max(need, 2 * bytes));
            free();
            long[] out = new long[1];
            check("cudaHostAlloc(" + size + " bytes, " + name + ")", CudaNative.stagingCreate(size, out));
            handle = out[0];
            bytes = size;
        }
    }

    void putInts(long byteOffset, int[] src, int offset, int count) {
        check("stage " + count + " ints (" + name + ")",
                CudaNative.stagingPutInts(handle, byteOffset, src, offset, count));
    }

    void putFloats(long byteOffset, float[] src, int offset, int count) {
        check("stage " + count + " floats (" + name + ")",
                CudaNative.stagingPutFloats(handle, byteOffset, src, offset, count));
    }

    void putDoubles(long byteOffset, double[] src, int offset, int count) {
        check("stage " + count + " doubles (" + name + ")",
                CudaNative.stagingPutDoubles(handle, byteOffset, src, offset, count));
    }

    /** Queues the first {@code count} bytes to {@code dst} on the stream. */
    void upload(long dst, long count) {
        if (count > 0) check("upload " + name, CudaNative.stagingUpload(handle, dst, count));
    }

    /** Copies {@code count} ints from the device at {@code src} into {@code dst}, waiting for the stream. */
    void downloadInts(long src, int[] dst, int count) {
        if (count <= 0) return;
        begin(4L * count);
        check("download " + name, CudaNative.stagingDownload(handle, src, 4L * count));
        check("read " + name, CudaNative.stagingGetInts(handle, 0, dst, 0, count));
    }

    private void check(String op, int code) {
        if (code != 0) check.accept(op, code);
    }

    private void free() {
        if (handle != 0) {
            long h = handle;
            handle = 0;
            bytes = 0;
            check("cudaFreeHost (" + name + ")", CudaNative.stagingFree(h));
        }
    }

    @Override
    public void close() {
        free();
    }
}
