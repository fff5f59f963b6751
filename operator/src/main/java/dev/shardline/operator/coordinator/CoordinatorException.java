package dev.shardline.operator.coordinator;

/** The coordinator could not be reached or refused a call. */
public final class CoordinatorException extends RuntimeException {
    private final boolean refused;

    public CoordinatorException(String message, Throwable cause) {
        this(message, cause, false);
    }

    /** @param refused the coordinator answered and said no for good (FAILED_PRECONDITION): asking again will not help */
    public CoordinatorException(String message, Throwable cause, boolean refused) {
        super(message, cause);
        this.refused = refused;
    }

    public boolean refused() {
        return refused;
    }
}
