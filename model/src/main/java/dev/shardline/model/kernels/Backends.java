package dev.shardline.model.kernels;

import java.util.Locale;

/** Backend choice by name, as configured: "cpu" (Vector API, the default) or "reference" (the scalar oracle). */
public final class Backends {
    public static Kernels create(String name, int threads) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "cpu" -> new VectorKernels(threads);
            case "reference" -> new ReferenceKernels();
            default -> throw new IllegalArgumentException("--backend: unknown backend \"" + name
                    + "\"; choose cpu or reference" + (name.equalsIgnoreCase("cuda") ? " here; the CUDA backend lives in the worker module (CudaBackend)" : ""));
        };
    }

    private Backends() {
    }
}
