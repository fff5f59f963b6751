package dev.shardline.model.safetensors;

/**
 * A checkpoint on disk is unusable: a corrupt or truncated safetensors file, a bad index, a missing tensor or a shape
 * that does not match config.json. The message always names the file (or directory) and, where there is one, the tensor.
 */
public final class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
