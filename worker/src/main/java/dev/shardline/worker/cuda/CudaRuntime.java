package dev.shardline.worker.cuda;

import java.util.ArrayList;
import java.util.List;

/** Public entry to the CUDA runtime: whether the library loads and which GPUs it sees. */
public final class CudaRuntime {

    private CudaRuntime() {
    }

    /** Loads the library (once) and asks the runtime for its devices; never throws. */
    public static CudaAvailability probe() {
        try {
            CudaNative.ensureLoaded();
        } catch (CudaUnavailableException e) {
            return new CudaAvailability(false, 0, List.of(), e.getMessage());
        }
        int count = CudaNative.deviceCount();
        if (count < 0) {
            return new CudaAvailability(true, 0, List.of(), CudaNative.errorString(-count));
        }
        if (count == 0) {
            return new CudaAvailability(true, 0, List.of(), "no CUDA-capable device is detected");
        }
        List<String> names = new ArrayList<>();
        for (int d = 0; d < count; d++) {
            String name = CudaNative.deviceName(d);
            names.add(name == null ? "device " + d : name);
        }
        return new CudaAvailability(true, count, names, count + " GPU(s): " + String.join(", ", names));
    }

    /** cudaMemGetInfo on the current device: {free, total} bytes. */
    public static long[] memoryInfo() {
        CudaNative.ensureLoaded();
        long[] freeTotal = new long[2];
        CudaException.check("cudaMemGetInfo", CudaNative.memInfo(freeTotal));
        return freeTotal;
    }

    /** Waits for every queued kernel; surfaces asynchronous kernel errors. */
    public static void synchronize() {
        CudaNative.ensureLoaded();
        CudaException.check("cudaDeviceSynchronize", CudaNative.synchronize());
    }
}
