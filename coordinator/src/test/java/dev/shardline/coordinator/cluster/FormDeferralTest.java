package dev.shardline.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FormDeferralTest {
    private static final long S = 1_000_000_000L;

    @Test
    void formingWaitsWhileMovedSequencesRePrefillUpToTheBound() {
        FormDeferral d = new FormDeferral();
        assertFalse(d.defer(false, 0), "nothing moved: no wait");
        assertTrue(d.defer(true, 1 * S), "moved sequences re-prefill: wait");
        assertTrue(d.defer(true, 1 * S + FormDeferral.MAX_NANOS - 1), "still within the bound");
        assertFalse(d.defer(true, 1 * S + FormDeferral.MAX_NANOS), "the bound passed: form anyway");
        assertFalse(d.defer(false, 20 * S), "done re-prefilling");
        assertTrue(d.defer(true, 21 * S), "a new migration starts a new wait, counted from its own start");
    }

    @Test
    void aZeroBoundNeverWaits() {
        FormDeferral d = new FormDeferral();
        d.maxNanos(0);
        assertFalse(d.defer(true, 5 * S));
    }
}
