package dev.shardline.worker.cuda;

import java.util.Locale;

/**
 * One GPU as the CUDA runtime numbers it (after {@code CUDA_VISIBLE_DEVICES}).
 *
 * @param index      runtime device index (what {@code --cuda-device} names)
 * @param name       e.g. "NVIDIA H200"
 * @param totalBytes device memory
 * @param major      compute capability major (8 = Ampere/Ada, 9 = Hopper)
 * @param minor      compute capability minor
 * @param smCount    streaming multiprocessors
 */
public record CudaDevice(int index, String name, long totalBytes, int major, int minor, int smCount) {

    /** The lowest compute capability the library carries machine code for (sm_80). */
    public static final int MIN_CAPABILITY = 80;

    /** e.g. {@code "GPU 0: NVIDIA H200, 139.8 GiB, compute capability 9.0, 132 SMs"}. */
    public String describe() {
        return String.format(Locale.ROOT, "GPU %d: %s, %.1f GiB, compute capability %d.%d, %d SMs", index, name,
                totalBytes / (double) (1L << 30), major, minor, smCount);
    }

    /** Null when the library's kernels run here; otherwise why not (older than sm_80: no bf16 tensor cores). */
    public String unsupported() {
        if (major * 10 + minor >= MIN_CAPABILITY) return null;
        return describe() + " is older than compute capability 8.0, the oldest the CUDA library is built for "
                + "(bf16 tensor cores)";
    }
}
