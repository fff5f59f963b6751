package dev.shardline.coordinator.plan;

/**
 * What a registered worker offers the planner: its id, the bytes it may fill with weights and KV cache, and its
 * speed relative to the other workers (1.0 = the reference; 2.0 runs a layer in half the time).
 */
public record WorkerOffer(String workerId, long memoryBudgetBytes, double relativeSpeed) {

    public WorkerOffer {
        if (workerId == null || workerId.isBlank()) {
            throw new IllegalArgumentException("a worker offer needs a worker id");
        }
        if (memoryBudgetBytes < 0) {
            throw new IllegalArgumentException("worker " + workerId + ": memory budget " + memoryBudgetBytes + " < 0");
        }
        if (!(relativeSpeed > 0) || Double.isInfinite(relativeSpeed)) {
            throw new IllegalArgumentException("worker " + workerId + ": relative speed " + relativeSpeed
                    + " must be > 0 and finite");
        }
    }

    /** A worker of the reference speed. */
    public WorkerOffer(String workerId, long memoryBudgetBytes) {
        this(workerId, memoryBudgetBytes, 1.0);
    }
}
