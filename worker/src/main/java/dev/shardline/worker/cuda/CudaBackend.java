package dev.shardline.worker.cuda;

/**
 * Backend {@code cuda} as the worker (and {@code generate --backend cuda}) asks for it: a start-up error quoting
 * the driver when no GPU is usable, never a silent fallback to the CPU.
 */
public final class CudaBackend {

    private CudaBackend() {
    }

    /** {@link #create(int, int, boolean)} on GPU 0 without per-launch synchronisation. */
    public static CudaKernels create(int threads) {
        return create(threads, 0, false);
    }

    /**
     * {@link CudaKernels} (PRECISE GEMM) on {@code device} (an index among the GPUs CUDA_VISIBLE_DEVICES leaves
     * visible), which becomes this process's GPU: every thread that calls into CUDA binds to it. With
     * {@code syncEachLaunch} every launch is synchronised and checked, so a kernel fault names its own op (debug).
     * Fails with {@link CudaUnavailableException} ({@code "backend cuda: ..."}) when the device is not usable.
     * {@code threads} is unused: the host side of the CUDA backend is one thread.
     */
    public static CudaKernels create(int threads, int device, boolean syncEachLaunch) {
        return create(threads, device, syncEachLaunch, KvDtype.BF16);
    }

    /** {@link #create(int, int, boolean)} whose {@link CudaKernels#allocateKv} caches hold {@code kvDtype}. */
    public static CudaKernels create(int threads, int device, boolean syncEachLaunch, KvDtype kvDtype) {
        CudaRuntime.select(device, syncEachLaunch);
        return new CudaKernels(CudaKernels.GemmMode.PRECISE, syncEachLaunch, kvDtype);
    }

    /** Throws {@code "backend cuda: no usable GPU: <driver message>"} unless a GPU answered; returns the probe. */
    public static CudaAvailability requireUsable() {
        CudaAvailability probe = CudaRuntime.probe();
        if (!probe.usable()) {
            throw new CudaUnavailableException("backend cuda: no usable GPU: " + probe.message());
        }
        return probe;
    }

    /**
     * The start-up check of a worker: the driver can run the library, {@code device} exists and is sm_80 or newer;
     * returns the line the log shows, e.g. {@code "GPU 1: NVIDIA H200, 139.8 GiB, compute capability 9.0, 132 SMs
     * (CUDA_VISIBLE_DEVICES=2,3: physical GPU 3); driver CUDA 13.0, runtime 13.0"}.
     */
    public static String requireUsable(int device, boolean syncEachLaunch) {
        CudaDevice d = CudaRuntime.select(device, syncEachLaunch);
        CudaAvailability probe = CudaRuntime.probe();
        return d.describe() + CudaDeviceSelection.physical(device, System.getenv("CUDA_VISIBLE_DEVICES"))
                + "; driver CUDA " + CudaDriverCheck.version(probe.driverVersion()) + ", runtime "
                + CudaDriverCheck.version(probe.runtimeVersion())
                + (syncEachLaunch ? "; cuda-debug-sync: every launch is synchronised and checked" : "");
    }
}
