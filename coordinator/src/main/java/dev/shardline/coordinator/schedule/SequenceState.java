package dev.shardline.coordinator.schedule;

/**
 * A snapshot of one live sequence, for status APIs and invariant checks.
 *
 * @param computed positions whose KV has been sent for computation (prompt + generated tokens, minus the ones
 *                 still to feed)
 * @param blocks   KV block ids it owns, in table order
 */
public record SequenceState(long sequenceId, SequenceStatus status, int priority, int promptLength,
                            int[] generated, int computed, int[] blocks, boolean inFlight, boolean cancelRequested,
                            int preemptions) {
}
