package dev.shardline.coordinator.schedule;

/** A request the scheduler cannot run; {@link #field()} names the offending field (for INVALID_ARGUMENT). */
public final class InvalidRequestException extends IllegalArgumentException {
    private final String field;

    public InvalidRequestException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
