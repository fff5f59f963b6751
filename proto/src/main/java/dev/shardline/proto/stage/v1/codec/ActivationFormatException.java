package dev.shardline.proto.stage.v1.codec;

/**
 * Activations on a Forward stream break the chunking contract of {@code shardline.stage.v1}: a chunk of another
 * step, out of order, missing or extra, sizes that do not add up, or an unusable dtype. The message names the
 * step and what was expected.
 */
public final class ActivationFormatException extends RuntimeException {
    private final long stepId;

    public ActivationFormatException(long stepId, String message) {
        super("step " + stepId + ": " + message);
        this.stepId = stepId;
    }

    /** The step whose activations were malformed. */
    public long stepId() {
        return stepId;
    }
}
