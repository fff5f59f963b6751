package dev.shardline.coordinator.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Deltas that wait while the sink is busy: merged into one, or (forced-token requests) handed over one by one. */
class DeliveryTest {

    private static GenerationDelta token(int id) {
        return new GenerationDelta(List.of(id), "", "t" + id, List.of(), List.of());
    }

    /** A sink whose first delta blocks until released, so that the next deltas wait behind it. */
    private static final class Sink implements TokenSink {
        final List<List<Integer>> deltas = new CopyOnWriteArrayList<>();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void onStarted() {
            events.add("started");
        }

        @Override
        public void onDelta(GenerationDelta d) throws InterruptedException {
            deltas.add(d.tokenIds());
            events.add("delta");
            entered.countDown();
            release.await();
        }

        @Override
        public void onComplete(Completion c) {
            events.add("complete");
            done.countDown();
        }

        @Override
        public void onError(GenerationException e) {
            events.add("error");
            done.countDown();
        }
    }

    private static List<List<Integer>> deliver(boolean merge) throws Exception {
        ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Sink sink = new Sink();
            Delivery d = new Delivery(sink, 100, ex, merge, failure -> { });
            assertTrue(d.offer(token(1)));
            assertTrue(sink.entered.await(10, TimeUnit.SECONDS));
            for (int i = 2; i <= 4; i++) assertTrue(d.offer(token(i)));   // these wait: the sink is busy
            d.fail(new GenerationException.Cancelled("end of the test"));
            sink.release.countDown();
            assertTrue(sink.done.await(10, TimeUnit.SECONDS));
            return sink.deltas;
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void waitingDeltasAreMergedIntoOne() throws Exception {
        assertEquals(List.of(List.of(1), List.of(2, 3, 4)), deliver(true));
    }

    @Test
    void oneByOneKeepsEveryDelta() throws Exception {
        assertEquals(List.of(List.of(1), List.of(2), List.of(3), List.of(4)), deliver(false));
    }

    @Test
    void theBufferBoundCountsWaitingTokensInBothModes() throws Exception {
        for (boolean merge : new boolean[] {true, false}) {
            ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
            try {
                Sink sink = new Sink();
                Delivery d = new Delivery(sink, 2, ex, merge, failure -> { });
                assertTrue(d.offer(token(1)));
                assertTrue(sink.entered.await(10, TimeUnit.SECONDS));
                assertTrue(d.offer(token(2)));
                assertTrue(d.offer(token(3)));
                assertTrue(!d.offer(token(4)), "a third waiting token is over the bound (merge " + merge + ")");
                assertTrue(d.overflowed());
                sink.release.countDown();
            } finally {
                ex.shutdownNow();
            }
        }
    }

    @Test
    void theStartComesOnceBeforeTheFirstDeltaAndNeverForARefusedRequest() throws Exception {
        ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Sink sink = new Sink();
            sink.release.countDown();
            Delivery d = new Delivery(sink, 100, ex, true, failure -> { });
            d.started();
            d.started();
            assertTrue(d.offer(token(1)));
            d.fail(new GenerationException.Cancelled("end of the test"));
            assertTrue(sink.done.await(10, TimeUnit.SECONDS));
            assertEquals(List.of("started", "delta", "error"), sink.events.stream().distinct().toList());
            assertEquals(1, sink.events.stream().filter("started"::equals).count(), "once: " + sink.events);

            Sink refused = new Sink();
            Delivery r = new Delivery(refused, 100, ex, true, failure -> { });
            r.fail(new GenerationException.Cancelled("no pipeline in time"));
            r.started();
            assertTrue(refused.done.await(10, TimeUnit.SECONDS));
            assertEquals(List.of("error"), refused.events);
        } finally {
            ex.shutdownNow();
        }
    }
}
