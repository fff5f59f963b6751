package dev.shardline.coordinator.schedule;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interactive time to first token while long batch generations hold every running slot, on a simulated 2-stage
 * pipeline driving the real scheduler (virtual clock; cost per stage and micro-batch 5 ms + 0.1 ms per row): 256 batch
 * requests of 64 prompt tokens and 256 generated on 64 slots, then 8 interactive requests of 64 prompt tokens, one at
 * a time, once the batch is decoding. With preemption each is admitted at once and its first token comes within
 * about two micro-batches; without it (the broken variant) one waits until a batch sequence ends.
 */
class BatchPreemptionSimTest {

    /** The worst interactive time to first token, in simulated ms; and the preemptions. */
    static double[] worstTtft(boolean preemption, int batchTokens) {
        SchedulerConfig cfg = new SchedulerConfig(2, 512, 64, 4096, 16, 32768);
        PipelineSimulator sim = new PipelineSimulator(cfg, 5, 0.1, 0.5);
        sim.scheduler().preemptBatchForInteractive(preemption);
        for (int i = 0; i < 256; i++) {
            sim.scheduler().submit(Request.ofLength(PipelineSimulator.prompt(64), batchTokens)
                    .withPriorityClass(PriorityClass.BATCH));
        }
        sim.runUntil(3000);                                     // every slot holds a decoding batch sequence
        assertEquals(64, sim.scheduler().runningCount());
        double worst = 0;
        for (int k = 0; k < 8; k++) {
            double t0 = sim.now();
            long id = sim.scheduler().submit(Request.ofLength(PipelineSimulator.prompt(64), 8));
            while (sim.tokenTimes(id).isEmpty()) sim.runUntil(sim.now() + 1);
            worst = Math.max(worst, sim.tokenTimes(id).getFirst() - t0);
            sim.runUntil(sim.now() + 13);
        }
        return new double[]{worst, sim.scheduler().preemptionCount()};
    }

    @Test
    void interactiveFirstTokensDoNotWaitForLongBatchGenerations() {
        double[] on = worstTtft(true, 256);
        double[] off = worstTtft(false, 256);
        assertTrue(on[0] <= 60, "with preemption the worst interactive TTFT is about two micro-batches: " + on[0] + " ms");
        assertTrue(on[1] >= 1, "it preempted: " + on[1]);
        assertTrue(off[0] > 300, "without it (the broken variant) one waits for a batch sequence to end: " + off[0] + " ms");
    }
}
