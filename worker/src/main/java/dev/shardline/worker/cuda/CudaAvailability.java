package dev.shardline.worker.cuda;

import java.util.List;

/**
 * What {@link CudaRuntime#probe()} found.
 *
 * @param libraryLoaded  whether libshardline_cuda.so was found in the jar and loaded
 * @param deviceCount    visible GPUs (0 when the runtime reported an error)
 * @param devices        their names, one per device
 * @param message        why nothing is usable (the load failure, the driver check or the driver's error string), or
 *                       a summary
 * @param details        each device's name, memory and compute capability (empty when none answered)
 * @param driverVersion  cudaDriverGetVersion (e.g. 13000; 0: no driver, or the library did not load)
 * @param runtimeVersion the library's CUDA runtime (e.g. 13000; 0 when the library did not load)
 */
public record CudaAvailability(boolean libraryLoaded, int deviceCount, List<String> devices, String message,
                               List<CudaDevice> details, int driverVersion, int runtimeVersion) {
    public CudaAvailability {
        devices = List.copyOf(devices);
        details = List.copyOf(details);
    }

    /** True when the library loaded and at least one GPU answered. */
    public boolean usable() {
        return libraryLoaded && deviceCount > 0;
    }
}
