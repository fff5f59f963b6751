package dev.shardline.worker.cuda;

/**
 * Backend {@code cuda} as the worker (and {@code generate --backend cuda}) asks for it: a start-up error quoting
 * the driver when no GPU is usable, never a silent fallback to the CPU.
 */
public final class CudaBackend {

    private CudaBackend() {
    }

    /**
     * {@link CudaKernels} (PRECISE GEMM) on the current GPU; fails with {@link CudaUnavailableException}
     * ({@code "backend cuda: no usable GPU: <driver message>"}) when no GPU is usable. {@code threads} is unused:
     * the host side of the CUDA backend is one thread.
     */
    public static CudaKernels create(int threads) {
        requireUsable();
        return new CudaKernels();
    }

    /** Throws {@code "backend cuda: no usable GPU: <driver message>"} unless a GPU answered; returns the probe. */
    public static CudaAvailability requireUsable() {
        CudaAvailability probe = CudaRuntime.probe();
        if (!probe.usable()) {
            throw new CudaUnavailableException("backend cuda: no usable GPU: " + probe.message());
        }
        return probe;
    }
}
