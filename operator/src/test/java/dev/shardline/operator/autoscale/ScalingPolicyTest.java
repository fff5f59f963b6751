package dev.shardline.operator.autoscale;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Properties of the scaling policy on seeded random inputs, and its windows, cool-down and scale to zero. */
class ScalingPolicyTest {
    static final ScalingPolicy NO_WINDOWS = new ScalingPolicy(1000, 4, 0.9, 60, 0, 0, 0, 0, 0, 8);

    static Signals backlog(long tokens) {
        return new Signals(tokens, 0, 0, 0, 0.1, 0, 1, 0);
    }

    static Signals idle() {
        return new Signals(0, 0, 0, 0, 0, 0, 1, 0);
    }

    @Test
    void monotoneInTheBacklog() {
        Random r = new Random(12);
        for (int trial = 0; trial < 500; trial++) {
            long a = r.nextLong(0, 20_000), b = a + r.nextLong(0, 20_000);
            int current = r.nextInt(0, 9);
            double tps = r.nextBoolean() ? 0 : r.nextDouble(1, 500);
            int waiting = r.nextInt(0, 20);
            Signals sa = new Signals(a, waiting, 0, 0, 0.2, tps, current, 0);
            Signals sb = new Signals(b, waiting, 0, 0, 0.2, tps, current, 0);
            Decision da = NO_WINDOWS.decide(current, sa, 1_000_000, ScalingState.initial());
            Decision db = NO_WINDOWS.decide(current, sb, 1_000_000, ScalingState.initial());
            assertTrue(da.pipelines() <= db.pipelines(), a + " -> " + da + " but " + b + " -> " + db);
            assertTrue(da.recommended() <= db.recommended());
        }
    }

    @Test
    void theBacklogTheMeasuredThroughputAndWaitingRequestsEachAskForPipelines() {
        assertEquals(3, NO_WINDOWS.decide(1, backlog(2500), 0, ScalingState.initial()).pipelines());
        // 100 tokens/s per pipeline, 60 s to drain: 30000 tokens need 5 pipelines (the backlog target alone says 30 -> 8)
        ScalingPolicy loose = new ScalingPolicy(100_000, 4, 0.9, 60, 0, 0, 0, 0, 0, 8);
        Decision d = loose.decide(1, new Signals(30_000, 0, 0, 0, 0.1, 100, 1, 0), 0, ScalingState.initial());
        assertEquals(5, d.pipelines());
        assertTrue(d.reason().contains("tokens/s"), d.reason());
        assertEquals(3, NO_WINDOWS.decide(1, new Signals(0, 9, 0, 0, 0, 0, 1, 0), 0, ScalingState.initial()).pipelines());
        assertEquals(3, NO_WINDOWS.decide(2, new Signals(0, 0, 0, 5, 0.95, 0, 2, 0), 0, ScalingState.initial()).pipelines(),
                "KV usage above the mark adds one");
    }

    @Test
    void staysWithinMinAndMaxAndSaysWhenLimited() {
        Random r = new Random(7);
        for (int trial = 0; trial < 500; trial++) {
            int min = r.nextInt(0, 4), max = min + r.nextInt(0, 5);
            ScalingPolicy p = new ScalingPolicy(r.nextLong(1, 5000), r.nextInt(1, 8), r.nextDouble(), r.nextInt(1, 600),
                    r.nextInt(0, 3), r.nextInt(0, 3), r.nextInt(0, 3), r.nextInt(0, 3), min, max);
            ScalingState state = ScalingState.initial();
            int current = r.nextInt(0, 12);
            long now = 0;
            for (int step = 0; step < 30; step++) {
                now += r.nextInt(0, 2000);
                Signals s = new Signals(r.nextLong(0, 100_000), r.nextInt(0, 50), r.nextLong(0, 10_000), r.nextInt(0, 10),
                        r.nextDouble(), r.nextDouble(0, 1000), current, r.nextInt(0, 2));
                Decision d = p.decide(current, s, now, state);
                assertTrue(d.pipelines() >= min && d.pipelines() <= max, d + " outside [" + min + ", " + max + "]");
                assertEquals(d.recommended() > max, d.limited());
                state = d.state();
                current = d.pipelines();
            }
        }
    }

    @Test
    void aSpikeShorterThanTheUpWindowDoesNotScaleButASustainedOneDoes() {
        ScalingPolicy p = new ScalingPolicy(1000, 4, 0.9, 60, 30, 300, 0, 0, 1, 8);
        ScalingState st = ScalingState.initial();
        int current = 1;
        long t = 0;
        for (; t <= 60_000; t += 5_000) {                       // quiet for a minute
            Decision d = p.decide(current, backlog(0), t, st);
            st = d.state();
            current = d.pipelines();
        }
        for (long end = t + 20_000; t < end; t += 5_000) {     // 20 s spike: below the 30 s window
            Decision d = p.decide(current, backlog(5000), t, st);
            st = d.state();
            assertEquals(1, d.pipelines(), "no scale up inside the window");
        }
        Decision d = null;
        for (long end = t + 40_000; t < end; t += 5_000) {
            d = p.decide(current, backlog(5000), t, st);
            st = d.state();
            current = d.pipelines();
        }
        assertEquals(5, current, "a sustained backlog scales up: " + d);
    }

    @Test
    void scaleDownWaitsForTheDownWindowAndNeverDuringADrain() {
        ScalingPolicy p = new ScalingPolicy(1000, 4, 0.9, 60, 0, 120, 0, 0, 1, 8);
        ScalingState st = ScalingState.initial();
        Decision d = p.decide(4, backlog(4000), 0, st);
        st = d.state();
        assertEquals(4, d.pipelines());
        for (long t = 10_000; t < 120_000; t += 10_000) {
            d = p.decide(4, backlog(1000), t, st);
            st = d.state();
            assertEquals(4, d.pipelines(), "the down window still sees the high recommendation at " + t);
        }
        assertEquals(4, p.decide(4, new Signals(1000, 0, 0, 0, 0.1, 0, 3, 1), 130_000, st).pipelines(),
                "a pipeline is draining: no further scale-down");
        assertEquals(1, p.decide(4, backlog(1000), 130_000, st).pipelines());
    }

    @Test
    void aCoolDownHoldsAfterAChange() {
        ScalingPolicy p = new ScalingPolicy(1000, 4, 0.9, 60, 0, 0, 60, 0, 1, 8);
        Decision d = p.decide(1, backlog(3000), 0, ScalingState.initial());
        assertEquals(3, d.pipelines());
        Decision d2 = p.decide(3, backlog(6000), 30_000, d.state());
        assertEquals(3, d2.pipelines());
        assertTrue(d2.reason().contains("cooling down"), d2.reason());
        assertEquals(6, p.decide(3, backlog(6000), 61_000, d2.state()).pipelines());
    }

    @Test
    void scalesToZeroAfterTheIdleTimeAndBackWhenRequestsWait() {
        ScalingPolicy p = new ScalingPolicy(1000, 4, 0.9, 60, 30, 0, 300, 60, 0, 4);
        ScalingState st = ScalingState.initial();
        int current = 1;
        for (long t = 0; t < 60_000; t += 10_000) {
            Decision d = p.decide(current, idle(), t, st);
            st = d.state();
            assertEquals(1, d.pipelines(), "idle for less than a minute keeps one at " + t);
        }
        Decision zero = p.decide(1, idle(), 60_000, st);
        assertEquals(0, zero.pipelines(), zero.toString());
        assertTrue(zero.reason().startsWith("idle"), zero.reason());
        // with no pipeline a request waits in the coordinator's queue: that demand scales back up at once, despite
        // the up window and the cool-down
        Decision back = p.decide(0, new Signals(0, 1, 300, 0, 0, 0, 0, 0), 61_000, zero.state());
        assertEquals(1, back.pipelines(), back.toString());
        assertTrue(back.changed());
        ScalingPolicy never = new ScalingPolicy(1000, 4, 0.9, 60, 0, 0, 0, 0, 0, 4);
        assertEquals(1, never.decide(1, idle(), 10_000_000, ScalingState.initial()).pipelines(), "scale to zero is off by default");
        assertFalse(never.decide(1, idle(), 10_000_000, ScalingState.initial()).changed());
    }
}
