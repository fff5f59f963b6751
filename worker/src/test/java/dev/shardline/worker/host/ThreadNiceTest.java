package dev.shardline.worker.host;

import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThreadNiceTest {

    @Test
    void lowersOnlyTheCallingThread() throws Exception {
        Optional<Integer> mine = ThreadNice.currentThread();
        assertTrue(mine.isPresent(), "these machines run Linux with glibc: the nice value must be readable");
        AtomicReference<Optional<String>> result = new AtomicReference<>();
        AtomicReference<Optional<Integer>> after = new AtomicReference<>();
        int target = Math.min(19, mine.get() + 5);
        Thread t = Thread.ofPlatform().start(() -> {
            result.set(ThreadNice.lowerCurrentThread(target));
            after.set(ThreadNice.currentThread());
        });
        t.join();
        assertEquals(Optional.empty(), result.get());
        assertEquals(Optional.of(target), after.get(), "the other thread runs at the new nice value");
        assertEquals(mine, ThreadNice.currentThread(), "the calling thread of the test is untouched");
    }

    @Test
    void neverRaisesPriorityAndRefusesValuesOutOfRange() throws Exception {
        AtomicReference<Optional<Integer>> after = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            ThreadNice.lowerCurrentThread(15);
            ThreadNice.lowerCurrentThread(3);                     // a lower value would be a raise: ignored
            after.set(ThreadNice.currentThread());
        });
        t.join();
        assertEquals(Optional.of(15), after.get());
        assertThrows(IllegalArgumentException.class, () -> ThreadNice.lowerCurrentThread(20));
        assertThrows(IllegalArgumentException.class, () -> ThreadNice.lowerCurrentThread(-1));
    }
}
