package dev.shardline.worker.server;

/**
 * A worker process could not start: its port is taken, its model cannot be read, or the coordinator stayed
 * unreachable or rejected it. The message says which, with the address or reason.
 */
public final class WorkerStartException extends RuntimeException {
    public WorkerStartException(String message) {
        super(message);
    }

    public WorkerStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
