package dev.shardline.operator.coordinator;

/** The coordinator could not be reached or refused a call. */
public final class CoordinatorException extends RuntimeException {
    public CoordinatorException(String message, Throwable cause) {
        super(message, cause);
    }
}
