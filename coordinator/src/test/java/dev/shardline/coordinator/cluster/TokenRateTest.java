package dev.shardline.coordinator.cluster;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The throughput window of the status (ADR 0010): known token counts at known times. */
class TokenRateTest {

    @Test
    void noTimeOrNoWorkGivesZero() {
        TokenRate r = new TokenRate(60_000);
        assertEquals(TokenRate.Rates.NONE, r.sample(0, 0, 0), "one sample spans no time");
        assertEquals(TokenRate.Rates.NONE, r.sample(0, 0, 1), "a second sample at the same time replaces the first");
        assertEquals(new TokenRate.Rates(0, 0), r.sample(10_000, 0, 1), "a pipeline that processed nothing");
    }

    @Test
    void wholeClusterAndPerPipelineOverTheWindow() {
        TokenRate r = new TokenRate(60_000);
        r.sample(0, 0, 2);
        // 2 pipelines for 10 s, 1200 tokens: 120 tokens/s, 60 per pipeline
        TokenRate.Rates a = r.sample(10_000, 1200, 2);
        assertEquals(120, a.tokensPerSecond(), 1e-9);
        assertEquals(60, a.tokensPerSecondPerPipeline(), 1e-9);
        // a third pipeline for the next 10 s (counted for the whole interval), 1800 more tokens
        TokenRate.Rates b = r.sample(20_000, 3000, 3);
        assertEquals(150, b.tokensPerSecond(), 1e-9);
        assertEquals(3000 / (10 * 2 + 10 * 3.0), b.tokensPerSecondPerPipeline(), 1e-9);
    }

    @Test
    void oldSamplesLeaveTheWindow() {
        TokenRate r = new TokenRate(60_000);
        r.sample(0, 0, 1);
        r.sample(30_000, 30_000, 1);                 // a burst: 1000 tokens/s for 30 s
        r.sample(60_000, 30_000, 1);
        r.sample(90_000, 30_000, 1);
        // the window [30 s, 90 s] starts at the 30 s sample: nothing was processed in it
        TokenRate.Rates idle = r.sample(90_000, 30_000, 1);
        assertEquals(0, idle.tokensPerSecond(), 1e-9);
        TokenRate.Rates later = r.sample(100_000, 31_000, 1);
        // the window of 60 s ending at 100 s begins at 40 s: it starts at the newest sample at or before it (30 s)
        assertEquals(1000 / 70.0, later.tokensPerSecond(), 1e-9, "from the 30 s sample, the newest at or before 40 s");
    }

    @Test
    void readsFurtherApartThanTheWindowGiveTheRateSinceThePreviousRead() {
        TokenRate r = new TokenRate(60_000);
        r.sample(0, 0, 1);
        TokenRate.Rates a = r.sample(300_000, 3000, 1);
        assertEquals(10, a.tokensPerSecond(), 1e-9);
        TokenRate.Rates b = r.sample(600_000, 9000, 2);
        assertEquals(20, b.tokensPerSecond(), 1e-9);
        assertEquals(10, b.tokensPerSecondPerPipeline(), 1e-9);
    }

    @Test
    void samplesMustGoForward() {
        TokenRate r = new TokenRate(60_000);
        r.sample(1000, 50, 1);
        assertThrows(IllegalArgumentException.class, () -> r.sample(999, 50, 1));
        assertThrows(IllegalArgumentException.class, () -> r.sample(2000, 49, 1));
        assertThrows(IllegalArgumentException.class, () -> new TokenRate(0));
    }
}
