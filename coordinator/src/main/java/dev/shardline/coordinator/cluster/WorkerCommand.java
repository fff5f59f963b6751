package dev.shardline.coordinator.cluster;

/** What the coordinator answers a heartbeat with. */
public record WorkerCommand(Kind kind, String reason, long epoch) {

    public enum Kind {
        /** Carry on. */
        NONE,
        /** The coordinator does not know the worker: register again. */
        REGISTER,
        /** Leave the pipeline of {@code epoch}, keep the weights: back to the pool. */
        RELEASE,
        /** Finish in-flight work and stop: the process exits. */
        DRAIN
    }

    public static final WorkerCommand NONE = new WorkerCommand(Kind.NONE, "", 0);

    public static WorkerCommand register(String reason) {
        return new WorkerCommand(Kind.REGISTER, reason, 0);
    }

    public static WorkerCommand release(long epoch, String reason) {
        return new WorkerCommand(Kind.RELEASE, reason, epoch);
    }

    public static WorkerCommand drain(String reason) {
        return new WorkerCommand(Kind.DRAIN, reason, 0);
    }
}
