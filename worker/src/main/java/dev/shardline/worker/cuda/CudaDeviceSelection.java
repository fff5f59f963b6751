package dev.shardline.worker.cuda;

import java.util.Arrays;
import java.util.List;

/**
 * Which GPU {@code --cuda-device N} means. N indexes the devices this process sees: with
 * {@code CUDA_VISIBLE_DEVICES=2,3} the runtime shows physical GPUs 2 and 3 as devices 0 and 1, so N = 1 is physical
 * GPU 3. Pure: the tests run it without a GPU.
 */
public final class CudaDeviceSelection {

    private CudaDeviceSelection() {
    }

    /**
     * The entries of {@code CUDA_VISIBLE_DEVICES} (indices or GPU-/MIG- UUIDs), or null when it is unset (all GPUs
     * visible). The runtime stops at the first invalid entry and "-1" hides every GPU; an empty value hides all.
     */
    public static List<String> visible(String env) {
        if (env == null) return null;
        List<String> out = new java.util.ArrayList<>();
        for (String e : Arrays.stream(env.split(",")).map(String::trim).toList()) {
            if (e.isEmpty() || e.startsWith("-")) break;
            out.add(e);
        }
        return List.copyOf(out);
    }

    /**
     * Checks a requested device against {@code CUDA_VISIBLE_DEVICES} (before any GPU is touched); returns null when
     * it may exist, otherwise why not.
     */
    public static String configProblem(int requested, String visibleEnv) {
        if (requested < 0) return "must be >= 0, got " + requested;
        List<String> visible = visible(visibleEnv);
        if (visible != null && requested >= visible.size()) {
            return "device " + requested + " does not exist: CUDA_VISIBLE_DEVICES=" + visibleEnv + " makes "
                    + (visible.isEmpty() ? "no GPU" : visible.size() + " GPU(s)") + " visible"
                    + (visible.isEmpty() ? "" : " (devices 0.." + (visible.size() - 1) + ")");
        }
        return null;
    }

    /** Checks a requested device against the devices the runtime counted; returns null when it exists. */
    public static String runtimeProblem(int requested, int deviceCount, String visibleEnv) {
        if (requested >= 0 && requested < deviceCount) return null;
        return "--cuda-device " + requested + " does not exist: the CUDA runtime sees " + deviceCount + " GPU(s)"
                + (visibleEnv == null ? "" : " (CUDA_VISIBLE_DEVICES=" + visibleEnv + ")");
    }

    /** How the log names a device: the runtime index, and the physical one when CUDA_VISIBLE_DEVICES remaps it. */
    public static String physical(int requested, String visibleEnv) {
        List<String> visible = visible(visibleEnv);
        if (visible == null || requested >= visible.size()) return "";
        return " (CUDA_VISIBLE_DEVICES=" + visibleEnv + ": physical GPU " + visible.get(requested) + ")";
    }
}
