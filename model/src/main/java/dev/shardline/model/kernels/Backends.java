package dev.shardline.model.kernels;

import java.util.Locale;

/**
 * Backend choice by name, as configured: "cpu" (Vector API, the default), "cpu-int8" (the same, but one-token
 * products of quantized weights with int8 activations on native integer kernels, {@code NativeQuantKernels}:
 * faster, with llama.cpp's rounding rather than f32 activations) or "reference" (the scalar oracle); and,
 * to measure the current kernels against the ones they replaced end to end, "cpu-packed-prefill" (the previous
 * prefill GEMM), "cpu-first-quant" (the first one-token quantized kernels) and "cpu-byte-quant" (the previous
 * one-token Q4_K / Q6_K kernels, which widen quant bytes rather than work in the quants' own lanes).
 */
public final class Backends {
    public static Kernels create(String name, int threads) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "cpu" -> new VectorKernels(threads);
            case "cpu-packed-prefill" -> new VectorKernels(threads, VectorKernels.Variant.PACKED_PREFILL);
            case "cpu-first-quant" -> new VectorKernels(threads, VectorKernels.Variant.FIRST_QUANT_KERNELS);
            case "cpu-byte-quant" -> new VectorKernels(threads, VectorKernels.Variant.BYTE_QUANT_KERNELS);
            case "cpu-int8" -> new VectorKernels(threads, VectorKernels.Variant.INT8_PRODUCTS);
            case "reference" -> new ReferenceKernels();
            default -> throw new IllegalArgumentException("--backend: unknown backend \"" + name
                    + "\"; choose cpu, cpu-int8 or reference (cpu-packed-prefill, cpu-first-quant and cpu-byte-quant: earlier kernels, for benchmarks)" + (name.equalsIgnoreCase("cuda") ? " here; the CUDA backend lives in the worker module (CudaBackend)" : ""));
        };
    }

    private Backends() {
    }
}
