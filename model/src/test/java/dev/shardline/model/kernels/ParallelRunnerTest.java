package dev.shardline.model.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelRunnerTest {

    @Test
    void runsEveryChunkExactlyOnceOnValidWorkers() throws InterruptedException {
        try (ParallelRunner runner = new ParallelRunner(3)) {
            for (int round = 0; round < 2000; round++) {
                int chunks = 1 + round % 37;
                AtomicIntegerArray seen = new AtomicIntegerArray(chunks);
                AtomicIntegerArray workers = new AtomicIntegerArray(3);
                runner.run(chunks, (c, w) -> {
                    seen.incrementAndGet(c);
                    workers.incrementAndGet(w);
                });
                for (int c = 0; c < chunks; c++) {
                    assertEquals(1, seen.get(c), "round " + round + " chunk " + c);
                }
                assertEquals(chunks, workers.get(0) + workers.get(1) + workers.get(2), "round " + round);
                if (round % 500 == 0) {
                    Thread.sleep(5); // let the workers park, then wake them again
                }
            }
        }
    }

    @Test
    void rethrowsAFailureInAChunk() {
        try (ParallelRunner runner = new ParallelRunner(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> runner.run(8, (c, w) -> {
                if (c == 5) {
                    throw new IllegalStateException("chunk 5");
                }
            }));
            assertEquals("chunk 5", e.getMessage());
            int[] count = new int[1];
            runner.run(1, (c, w) -> count[0]++);
            assertEquals(1, count[0], "the runner still works after a failure");
        }
    }

    @Test
    void closedRunnerRefusesParallelWork() {
        ParallelRunner runner = new ParallelRunner(2);
        runner.close();
        assertThrows(IllegalStateException.class, () -> runner.run(4, (c, w) -> { }));
        assertThrows(IllegalArgumentException.class, () -> new ParallelRunner(0));
        assertTrue(runner.threads() == 2);
    }
}
