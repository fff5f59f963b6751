package dev.shardline.worker.cuda;

/**
 * The CUDA backend cannot be used here: the native library is missing or did not load, or the CUDA runtime found
 * no usable GPU (the message quotes the driver's words, e.g. "CUDA driver version is insufficient for CUDA
 * runtime version").
 */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
