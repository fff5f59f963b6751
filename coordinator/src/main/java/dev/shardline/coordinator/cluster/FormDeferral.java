package dev.shardline.coordinator.cluster;

/**
 * Migration first, re-planning second: while a serving pipeline re-prefills sequences that moved from a lost or
 * drained one, a new pipeline does not form yet (up to {@link #MAX_NANOS}): loading its weights would take memory
 * bandwidth and cores from that re-prefill on hosts that share them, and the clients of the moved sequences are the
 * ones waiting. With no pipeline re-prefilling moved sequences, nothing is deferred.
 */
final class FormDeferral {
    /** The longest a new pipeline waits for sequences that moved to a serving one to re-prefill there. */
    static final long MAX_NANOS = 10_000_000_000L;

    private long maxNanos = MAX_NANOS;
    private boolean absorbing;       // a serving pipeline re-prefills moved sequences
    private long absorbingSince;     // since when

    /** Whether forming waits now, given whether a serving pipeline re-prefills moved sequences. */
    boolean defer(boolean nowAbsorbing, long now) {
        if (!nowAbsorbing) {
            absorbing = false;
            return false;
        }
        if (!absorbing) {
            absorbing = true;
            absorbingSince = now;
        }
        return now - absorbingSince < maxNanos;
    }

    /** Tests: how long forming may wait (0: never waits). */
    void maxNanos(long nanos) {
        maxNanos = nanos;
    }
}
