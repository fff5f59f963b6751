package dev.shardline.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RatiosTest {
    /** A run of {@code tokens} tokens in {@code seconds} whose inter-token latencies are all {@code itlMs}. */
    private static LoadRun run(int c, int tokens, double seconds, double itlMs) {
        return new LoadRun("s", c, tokens, seconds, new double[] {1}, new double[] {itlMs, itlMs, itlMs}, new double[0], 0);
    }

    @Test
    void computesEachGoalRatioFromTheRowsOfARound() {
        Ratios r = Ratios.of(Map.of(
                "p1", run(1, 64, 2.0, 25),       // 32 tok/s
                "p16", run(16, 1024, 16.0, 150), // 64 tok/s
                "w1c1", run(1, 64, 4.0, 50),     // 16 tok/s
                "w1c16", run(16, 1024, 32.0, 300),
                "w2c1", run(1, 64, 3.2, 40),     // 20 tok/s
                "w2c16", run(16, 1024, 20.0, 200))); // 51.2 tok/s
        assertEquals(25.0 / 40, r.c1Decode(), 1e-12);
        assertEquals(51.2 / 64, r.c16Throughput(), 1e-12);
        assertEquals(51.2 / 20, r.pipelineBatching(), 1e-12);
        assertEquals(32.0 / 16, r.workerBatching(), 1e-12);
        assertEquals(2.0, r.processBatching(), 1e-12);
        String text = r.describe();
        assertTrue(text.contains("decode 0.63x"), text);
        assertTrue(text.contains("throughput 0.80x (goal >= 0.9x)"), text);
        assertTrue(text.contains("C=16 vs C=1: throughput 2.6x (goal >= 5x)"), text);
    }

    @Test
    void aRoundWithoutTheRowsHasNoRatioAndPrintsNoLine() {
        Ratios r = Ratios.of(Map.of("p1", run(1, 64, 2.0, 25), "p16", run(16, 1024, 16.0, 150)));
        assertTrue(Double.isNaN(r.c1Decode()));
        assertTrue(Double.isNaN(r.c16Throughput()));
        assertEquals(2.0, r.processBatching(), 1e-12);
        assertFalse(r.describe().contains("2-stage"), r.describe());
    }

    @Test
    void medianTakesTheMiddleRoundOrTheMeanOfTheMiddleTwoAndSkipsMissingRatios() {
        Ratios a = new Ratios(0.5, 0.7, 3.0, Double.NaN, 2.0);
        Ratios b = new Ratios(0.6, 0.9, 2.0, Double.NaN, 2.5);
        Ratios c = new Ratios(0.7, 0.8, 4.0, 1.5, 2.1);
        Ratios m3 = Ratios.median(List.of(a, b, c));
        assertEquals(0.6, m3.c1Decode(), 1e-12);
        assertEquals(0.8, m3.c16Throughput(), 1e-12);
        assertEquals(3.0, m3.pipelineBatching(), 1e-12);
        assertEquals(1.5, m3.workerBatching(), 1e-12, "the one round that has it");
        assertEquals(2.1, m3.processBatching(), 1e-12);
        Ratios m2 = Ratios.median(List.of(a, b));
        assertEquals(0.55, m2.c1Decode(), 1e-12);
        assertTrue(Double.isNaN(m2.workerBatching()));
        assertThrows(IllegalArgumentException.class, () -> Ratios.median(List.of()));
    }
}
