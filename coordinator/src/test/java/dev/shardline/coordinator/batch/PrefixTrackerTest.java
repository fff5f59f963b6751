package dev.shardline.coordinator.batch;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixTrackerTest {

    @Test
    void releasesOnlyTheContiguousCompletedPrefix() {
        PrefixTracker<String> t = new PrefixTracker<>();
        t.assign(0);
        for (long o : new long[]{3, 4, 6, 7}) t.polled(0, o);      // 5: a transaction marker's offset
        assertTrue(t.complete(0, 4, "r4", 10));
        assertTrue(t.complete(0, 7, "r7", 10));
        assertEquals(List.of(), t.release(), "3 is unfinished: nothing may be committed");
        assertEquals(2, t.held());
        assertEquals(20, t.heldBytes());
        assertTrue(t.complete(0, 3, "r3", 5));
        assertEquals(List.of(new PrefixTracker.Release<>(0, 5, List.of("r3", "r4"))), t.release());
        assertEquals(List.of(), t.release(), "released once");
        assertTrue(t.complete(0, 6, "r6", 1));
        assertEquals(List.of(new PrefixTracker.Release<>(0, 8, List.of("r6", "r7"))), t.release());
        assertEquals(0, t.heldBytes());
        assertEquals(0, t.open());
    }

    @Test
    void aRevokedPartitionsLateResultsAreDroppedAndDoubleCompletionsRefused() {
        PrefixTracker<String> t = new PrefixTracker<>();
        t.assign(1);
        t.polled(1, 0);
        t.polled(1, 1);
        assertTrue(t.complete(1, 1, "a", 7));
        assertFalse(t.complete(1, 1, "again", 7), "one result per offset");
        assertFalse(t.complete(1, 9, "unknown", 7));
        t.revoke(1);
        assertEquals(0, t.heldBytes());
        assertFalse(t.complete(1, 0, "late", 7), "the partition moved: its late result must not be committed here");
        assertEquals(List.of(), t.release());
        assertThrows(IllegalStateException.class, () -> t.polled(1, 2));
        t.assign(2);
        t.polled(2, 5);
        assertThrows(IllegalStateException.class, () -> t.polled(2, 5), "offsets rise");
    }

    /** Random completion orders over several partitions: every offset is released exactly once, in order. */
    @Test
    void randomOrdersReleaseEveryOffsetOnceInOrder() {
        for (int seed = 0; seed < 200; seed++) {
            Random rnd = new Random(seed);
            PrefixTracker<Long> t = new PrefixTracker<>();
            int partitions = 1 + rnd.nextInt(4);
            Map<Integer, List<Long>> offsets = new HashMap<>();
            List<long[]> todo = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                t.assign(p);
                long o = rnd.nextInt(5);
                List<Long> l = new ArrayList<>();
                for (int i = 0; i < 1 + rnd.nextInt(30); i++) {
                    t.polled(p, o);
                    l.add(o);
                    todo.add(new long[]{p, o});
                    o += 1 + rnd.nextInt(2);
                }
                offsets.put(p, l);
            }
            Collections.shuffle(todo, rnd);
            Map<Integer, List<Long>> released = new HashMap<>();
            Map<Integer, Long> next = new HashMap<>();
            for (long[] x : todo) {
                assertTrue(t.complete((int) x[0], x[1], x[1], 1));
                if (rnd.nextInt(3) == 0) collect(t, released, next);
            }
            collect(t, released, next);
            assertEquals(offsets, released, "seed " + seed);
            for (var e : offsets.entrySet()) assertEquals(e.getValue().getLast() + 1, next.get(e.getKey()));
            assertEquals(0, t.open());
            assertEquals(0, t.heldBytes());
        }
    }

    private static void collect(PrefixTracker<Long> t, Map<Integer, List<Long>> released, Map<Integer, Long> next) {
        for (PrefixTracker.Release<Long> r : t.release()) {
            List<Long> l = released.computeIfAbsent(r.partition(), p -> new ArrayList<>());
            if (!l.isEmpty()) assertTrue(r.results().getFirst() > l.getLast());
            assertEquals(r.results().getLast() + 1, r.nextOffset());
            l.addAll(r.results());
            next.put(r.partition(), r.nextOffset());
        }
    }
}
