package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.Kernels;

/**
 * Backend {@code cuda} as the worker (and {@code generate --backend cuda}) asks for it: a start-up error quoting
 * the driver when no GPU is usable, never a silent fallback to the CPU.
 */
public final class CudaBackend {

    private CudaBackend() {
    }

    /**
     * Probes and fails with {@link CudaUnavailableException} when no GPU is usable. While the CUDA kernels are
     * incomplete (issue 4) it also fails on a GPU machine, saying so.
     */
    public static Kernels create(int threads) {
        CudaAvailability probe = requireUsable();
        throw new CudaUnavailableException("backend cuda: the CUDA backend's kernels are not complete yet (issue 4); "
                + "found " + probe.message() + "; use --backend cpu for now");
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
