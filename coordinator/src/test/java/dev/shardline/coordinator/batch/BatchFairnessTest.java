package dev.shardline.coordinator.batch;

import dev.shardline.coordinator.schedule.PriorityClass;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.coordinator.schedule.Scheduler;
import dev.shardline.coordinator.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Interactive first, batches fair (ADR 0011): with batch work queued, an interactive request that arrives last is
 * the next one admitted, and two batches take turns (the n-th request of each ranks alike), deterministically.
 */
class BatchFairnessTest {

    private static Request batch(int index) {
        return Request.ofLength(new int[]{10, 11}, 2).withPriorityClass(PriorityClass.BATCH)
                .withPriority(BatchRunner.fairPriority(index));
    }

    @Test
    void interactiveBeforeEveryQueuedBatchRequestAndBatchesTakeTurns() {
        Scheduler s = new Scheduler(new SchedulerConfig(2, 64, 1, 64, 4, 64));    // one running sequence at a time
        long running = s.submit(Request.ofLength(new int[]{1, 2}, 2));
        s.nextMicroBatch().orElseThrow();
        long a1 = s.submit(batch(1));
        long a2 = s.submit(batch(2));
        long a3 = s.submit(batch(3));
        long b1 = s.submit(batch(1));
        long b2 = s.submit(batch(2));
        long interactive = s.submit(Request.ofLength(new int[]{5, 6}, 2));
        assertEquals(List.of(interactive, a1, b1, a2, b2, a3), s.waitingSequenceIds());
        // the broken variant (batches first come, first served) orders a batch's requests before the next batch's
        Scheduler fifo = new Scheduler(new SchedulerConfig(2, 64, 1, 64, 4, 64));
        fifo.submit(Request.ofLength(new int[]{1, 2}, 2));
        fifo.nextMicroBatch().orElseThrow();
        long[] ids = new long[5];
        for (int i = 0; i < 5; i++) ids[i] = fifo.submit(Request.ofLength(new int[]{10, 11}, 2).withPriorityClass(PriorityClass.BATCH));
        assertEquals(List.of(ids[0], ids[1], ids[2], ids[3], ids[4]), fifo.waitingSequenceIds());
        assertEquals(running, s.liveSequenceIds().getFirst());
    }
}
