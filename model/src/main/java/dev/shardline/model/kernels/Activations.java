package dev.shardline.model.kernels;

/**
 * Activation memory where a backend computes: a float array on the Java heap for the CPU backends
 * ({@link HostActivations}), device memory for a GPU backend. Allocated by {@link Kernels#allocate(long)}, filled
 * and read back with {@link Kernels#write} / {@link Kernels#read}; every op of {@link Kernels} reads and writes these,
 * so a GPU backend keeps the hidden state on the device for a whole step. Holds {@link #length()} floats, row-major.
 */
public interface Activations extends AutoCloseable {

    /** Capacity in floats. */
    long length();

    /** Frees device memory; host arrays have nothing to free. Idempotent. */
    @Override
    default void close() {
    }
}
