package dev.shardline.coordinator.plan;

/**
 * No plan fits the offered workers. The message names the shortfall (what is needed, what is offered, the
 * missing bytes); {@link #shortfallBytes()} is that number, for APIs and tests.
 */
public final class PlanException extends RuntimeException {
    private final long shortfallBytes;

    public PlanException(String message, long shortfallBytes) {
        super(message);
        this.shortfallBytes = shortfallBytes;
    }

    /** Bytes missing for the plan to fit (> 0). */
    public long shortfallBytes() {
        return shortfallBytes;
    }
}
