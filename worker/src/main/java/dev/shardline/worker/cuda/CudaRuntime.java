package dev.shardline.worker.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * Public entry to the CUDA runtime: whether the library loads, whether the driver can run it, which GPUs it sees,
 * and the one device this process uses ({@link #select}).
 */
public final class CudaRuntime {

    private static volatile CudaDevice selected;
    private static volatile String fatal;

    private CudaRuntime() {
    }

    /** Loads the library (once), checks the driver version and asks the runtime for its devices; never throws. */
    public static CudaAvailability probe() {
        try {
            CudaNative.ensureLoaded();
        } catch (CudaUnavailableException e) {
            return new CudaAvailability(false, 0, List.of(), e.getMessage(), List.of(), 0, 0);
        }
        int[] versions = new int[2];
        CudaNative.versions(versions);          // a failing call leaves the driver's version at 0: "no driver"
        int driver = versions[0];
        int runtime = versions[1];
        String driverProblem = CudaDriverCheck.problem(driver, runtime);
        int count = CudaNative.deviceCount();
        if (count <= 0) {
            String why = count < 0 ? CudaNative.errorString(-count) : "no CUDA-capable device is detected";
            return new CudaAvailability(true, 0, List.of(), driverProblem != null ? driverProblem + " (" + why + ")"
                    : why, List.of(), driver, runtime);
        }
        List<String> names = new ArrayList<>();
        List<CudaDevice> details = new ArrayList<>();
        for (int d = 0; d < count; d++) {
            String name = CudaNative.deviceName(d);
            names.add(name == null ? "device " + d : name);
            long[] info = new long[4];
            if (CudaNative.deviceInfo(d, info) == 0) {
                details.add(new CudaDevice(d, names.getLast(), info[0], (int) info[1], (int) info[2], (int) info[3]));
            }
        }
        String summary = count + " GPU(s): " + String.join(", ", names) + "; driver CUDA "
                + CudaDriverCheck.version(driver) + ", runtime " + CudaDriverCheck.version(runtime);
        return new CudaAvailability(true, count, names, driverProblem != null ? driverProblem + "; " + summary : summary,
                details, driver, runtime);
    }

    /**
     * Makes {@code device} this process's GPU (every thread that later calls into CUDA binds to it) and returns it;
     * with {@code syncEachLaunch} every launch is synchronised and checked (debug: exact error attribution).
     * Fails with {@link CudaUnavailableException} naming what is wrong: no usable GPU, no such device, a compute
     * capability below 8.0, or an earlier fatal error in this process.
     */
    public static CudaDevice select(int device, boolean syncEachLaunch) {
        String failed = fatal;
        if (failed != null) {
            throw new CudaUnavailableException("backend cuda: the GPU failed earlier in this process (" + failed
                    + "); a CUDA context cannot recover from that: restart the worker");
        }
        CudaAvailability probe = probe();
        if (!probe.usable()) {
            throw new CudaUnavailableException("backend cuda: no usable GPU: " + probe.message());
        }
        String visible = System.getenv("CUDA_VISIBLE_DEVICES");
        String missing = CudaDeviceSelection.runtimeProblem(device, probe.deviceCount(), visible);
        if (missing != null) throw new CudaUnavailableException("backend cuda: " + missing);
        CudaDevice d = probe.details().stream().filter(x -> x.index() == device).findFirst()
                .orElseThrow(() -> new CudaUnavailableException("backend cuda: cannot query GPU " + device));
        String old = d.unsupported();
        if (old != null) throw new CudaUnavailableException("backend cuda: " + old);
        int code = CudaNative.selectDevice(device, syncEachLaunch);
        if (code != 0) {
            throw new CudaUnavailableException("backend cuda: cudaSetDevice(" + device + ") failed: "
                    + CudaNative.errorString(code));
        }
        selected = d;
        return d;
    }

    /** The device {@link #select} chose, or null before. */
    public static CudaDevice selected() {
        return selected;
    }

    /**
     * Every failed CUDA call's exception passes here: a sticky one is remembered (this process's CUDA context is
     * unusable, no backend may be created again). Returns {@code e}.
     */
    static CudaException seen(CudaException e) {
        if (e.fatal() && fatal == null) fatal = e.getMessage();
        return e;
    }

    /** The first sticky error this process saw, or null. */
    public static String fatalError() {
        return fatal;
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
