package dev.shardline.coordinator.schedule;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sequences that migrate to a pipeline re-prefill prompt + generated tokens there. On a simulated 2-stage pipeline
 * (cost per stage and micro-batch: 40 ms + 4.3 ms per row, a 1-thread CPU stage of the {@code small} model), four
 * migrated 100-token sequences join four that are decoding. One migrated sequence alone takes t = 940 ms through
 * both stages; all four in one micro-batch would resume after about 4t; spread over the stages' micro-batches the last
 * resumes after about (N + 1) / 2 x t, and the streams that were already running keep getting tokens meanwhile.
 */
class MigrationReprefillSimTest {
    private static final double FIXED_MS = 40;
    private static final double PER_ROW_MS = 4.3;
    private static final double ALONE_MS = 2 * (FIXED_MS + PER_ROW_MS * 100);

    record Pauses(double lastMovedResumesMs, double longestGapOfTheOthersMs) {
    }

    static Pauses migrate(int migrated, boolean spread) {
        SchedulerConfig cfg = new SchedulerConfig(2, 512, 256, 4096, 16, 32768);
        PipelineSimulator sim = new PipelineSimulator(cfg, spread, FIXED_MS, PER_ROW_MS, 1);
        List<Long> staying = new ArrayList<>();
        for (int i = 0; i < 4; i++) staying.add(sim.scheduler().submit(Request.ofLength(PipelineSimulator.prompt(64), 300)));
        sim.runUntil(5000);
        double t0 = sim.now();
        List<Long> moved = new ArrayList<>();
        for (int i = 0; i < migrated; i++) {
            moved.add(sim.scheduler().submit(Request.ofLength(PipelineSimulator.prompt(64), 300)
                    .resumed(PipelineSimulator.prompt(36), i)));
        }
        sim.runUntil(t0 + 15_000);
        double last = 0;
        for (long id : moved) last = Math.max(last, sim.tokenTimes(id).getFirst() - t0);
        double gap = 0;
        for (long id : staying) {
            double previous = -1;
            for (double t : sim.tokenTimes(id)) {
                if (t > t0 && previous >= 0) gap = Math.max(gap, t - previous);
                previous = t;
            }
        }
        return new Pauses(last, gap);
    }

    @Test
    void migratedSequencesRePrefillOnBothStagesAtOnce() {
        for (int n : new int[]{2, 4, 8}) {
            Pauses spread = migrate(n, true);
            Pauses whole = migrate(n, false);
            double pipelined = (n + 1) / 2.0 * ALONE_MS;
            assertTrue(spread.lastMovedResumesMs() <= 1.05 * pipelined, n + " migrated: the last resumed after "
                    + spread.lastMovedResumesMs() + " ms, pipelined would be " + pipelined);
            assertTrue(whole.lastMovedResumesMs() > 1.2 * pipelined, "without spreading (the broken variant) the bound "
                    + "must fail: " + whole.lastMovedResumesMs() + " ms vs " + pipelined);
            assertTrue(spread.longestGapOfTheOthersMs() <= 1.5 * ALONE_MS, n + " migrated: a running stream waited "
                    + spread.longestGapOfTheOthersMs() + " ms");
        }
        Pauses one = migrate(1, true);
        assertTrue(one.lastMovedResumesMs() <= 1.05 * ALONE_MS, "one migrated sequence: " + one.lastMovedResumesMs());
    }
}
