package dev.shardline.worker.server;

import io.grpc.Status;

/** An Assign that cannot be carried out; the status code and message go back to the coordinator as they are. */
final class AssignException extends Exception {
    private final Status.Code code;

    AssignException(Status.Code code, String message) {
        super(message);
        this.code = code;
    }

    AssignException(Status.Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    Status status() {
        return Status.fromCode(code).withDescription(getMessage());
    }

    static AssignException invalid(String field, String rule) {
        return new AssignException(Status.Code.INVALID_ARGUMENT, "LayerAssignment." + field + " " + rule);
    }
}
