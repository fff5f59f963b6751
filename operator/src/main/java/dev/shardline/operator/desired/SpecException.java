package dev.shardline.operator.desired;

/** A resource the operator cannot act on, naming the field (reported in status as Degraded/InvalidSpec). */
public final class SpecException extends RuntimeException {
    private final String field;

    public SpecException(String field, String message) {
        super("spec." + field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
