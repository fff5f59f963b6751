package dev.shardline.worker.cuda;

import java.util.List;

/**
 * What {@link CudaRuntime#probe()} found.
 *
 * @param libraryLoaded whether libshardline_cuda.so was found in the jar and loaded
 * @param deviceCount   visible GPUs (0 when the runtime reported an error)
 * @param devices       their names, one per device
 * @param message       why nothing is usable (the load failure or the driver's error string), or a summary
 */
public record CudaAvailability(boolean libraryLoaded, int deviceCount, List<String> devices, String message) {
    public CudaAvailability {
        devices = List.copyOf(devices);
    }

    /** True when the library loaded and at least one GPU answered. */
    public boolean usable() {
        return libraryLoaded && deviceCount > 0;
    }
}
