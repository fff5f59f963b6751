package dev.shardline.worker.cuda;

/**
 * Whether the installed NVIDIA driver can run this build's CUDA runtime (static cudart, so the runtime version is
 * the toolkit the library was built with). CUDA's minor-version compatibility lets a driver of the same major
 * release run any runtime of that major release; an older major release (or no driver) cannot.
 */
public final class CudaDriverCheck {

    private CudaDriverCheck() {
    }

    /** "13.0" from 13000. */
    public static String version(int v) {
        return (v / 1000) + "." + (v % 1000) / 10;
    }

    /**
     * Null when the driver can run the runtime; otherwise a message saying what is missing.
     *
     * @param driver  cudaDriverGetVersion (0 when no driver is installed)
     * @param runtime cudaRuntimeGetVersion of the library
     */
    public static String problem(int driver, int runtime) {
        String need = "this build's CUDA runtime " + version(runtime) + " needs an NVIDIA driver for CUDA "
                + (runtime / 1000) + ".0 or newer" + (runtime / 1000 == 13 ? " (Linux driver R580 or newer)" : "");
        if (driver <= 0) {
            return "no NVIDIA driver found (libcuda.so.1 is not installed or not visible to this process): " + need;
        }
        if (driver / 1000 < runtime / 1000) {
            return "the NVIDIA driver supports CUDA " + version(driver) + " only: " + need + "; update the driver";
        }
        return null;
    }
}
