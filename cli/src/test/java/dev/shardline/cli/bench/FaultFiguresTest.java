package dev.shardline.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FaultFiguresTest {
    static final long MS = 1_000_000L;

    @Test
    void pausesSpanTheFaultAndThroughputIsCountedInEqualWindows() {
        List<Long> a = List.of(100 * MS, 200 * MS, 300 * MS, 1300 * MS, 1400 * MS);   // paused 1000 ms
        List<Long> b = List.of(150 * MS, 250 * MS, 700 * MS, 800 * MS);                 // paused 450 ms
        List<Long> done = List.of(50 * MS, 120 * MS);                                     // ended before the fault
        // a token in transit from the dead stage arrives just after the fault; the real pause comes after it
        List<Long> late = List.of(350 * MS, 410 * MS, 1210 * MS, 1250 * MS);            // paused 800 ms
        FaultFigures f = FaultFigures.of(List.of(a, b, done, late), 400 * MS, 300 * MS);
        assertEquals(List.of(450.0, 800.0, 1000.0), f.pausesMs());
        assertEquals(1000.0, f.maxPauseMs());
        assertEquals(800.0, f.medianPauseMs());
        // before: [100, 400) holds 100, 200, 300, 150, 250, 120, 350 = 7 tokens in 0.3 s
        assertEquals(7 / 0.3, f.tokensPerSecondBefore(), 1e-9);
        // after: [1400, 1700) holds 1400 = 1 token in 0.3 s
        assertEquals(1 / 0.3, f.tokensPerSecondAfter(), 1e-9);
    }
}
