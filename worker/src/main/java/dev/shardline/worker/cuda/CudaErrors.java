package dev.shardline.worker.cuda;

import java.util.Set;

/**
 * What a {@code cudaError_t} means for the backend. Kernel faults are asynchronous: without a synchronisation after
 * each launch they surface at a later call (a copy, another launch), so the message names the op that was launched
 * last before it. Some errors are sticky: the CUDA context is corrupted and every later call in this process fails
 * the same way; only a new process recovers. Pure: the tests check the mapping without a GPU.
 */
public final class CudaErrors {

    /**
     * Sticky errors ("the process must be terminated and relaunched", CUDA runtime API): uncorrectable ECC (214),
     * uncorrectable NVLink (220), illegal address (700), launch timeout (702), context destroyed (709), device-side
     * assert (710), hardware stack error (714), illegal instruction (715), misaligned address (716), invalid address
     * space (717), invalid program counter (718), launch failure (719).
     */
    public static final Set<Integer> STICKY = Set.of(214, 220, 700, 702, 709, 710, 714, 715, 716, 717, 718, 719);

    private CudaErrors() {
    }

    /** Whether {@code code} leaves this process's CUDA context unusable. */
    public static boolean sticky(int code) {
        return STICKY.contains(code);
    }

    /**
     * The message of a failed call.
     *
     * @param op             what failed, e.g. {@code "read 4096 floats from the device"} or {@code "matmul [27648, 5120] x 7"}
     * @param code           the cudaError_t
     * @param cudaMessage    cudaGetErrorString of it
     * @param lastLaunch     the op launched last before this call (null: none, or not tracked)
     * @param syncEachLaunch whether every launch was synchronised (then the failing launch is the culprit)
     */
    public static String describe(String op, int code, String cudaMessage, String lastLaunch, boolean syncEachLaunch) {
        StringBuilder m = new StringBuilder("CUDA ").append(op).append(" failed: ").append(cudaMessage)
                .append(" (cudaError ").append(code).append(')');
        if (sticky(code)) {
            if (syncEachLaunch) {
                m.append(", checked by a synchronisation right after this launch");
            } else if (lastLaunch != null) {
                m.append("; kernel faults are reported late: the op launched last before this call was ")
                        .append(lastLaunch).append(" (set cuda-debug-sync=true to attribute faults exactly)");
            }
            m.append("; the CUDA context is unusable for the rest of this process: the backend is closed, restart "
                    + "the worker");
        }
        return m.toString();
    }
}
