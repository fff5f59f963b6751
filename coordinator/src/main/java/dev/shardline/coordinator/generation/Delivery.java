package dev.shardline.coordinator.generation;

import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * One request's way out: a bounded buffer between the pipeline (which offers deltas and never waits) and the
 * request's {@link TokenSink} (called on a virtual thread started when there is something to deliver, so an idle
 * request holds no thread). Deltas that pile up while the sink is busy are merged into one. When more than
 * {@code capacityTokens} tokens wait, {@link #offer} refuses: the caller stops the generation, and the end it then
 * reports ({@link GenerationException.ConsumerTooSlow}) replaces what was waiting and interrupts a sink call that
 * is still blocked.
 */
final class Delivery {
    private final TokenSink sink;
    private final int capacityTokens;
    private final Executor executor;
    private final Consumer<RuntimeException> sinkFailed;
    private GenerationDelta waiting;
    private int waitingTokens;
    private Completion completion;
    private GenerationException error;
    private boolean ended;          // the end was handed to the sink
    private boolean draining;       // a delivery thread runs
    private boolean overflowed;
    private Thread drainer;

    /** {@code sinkFailed}: the sink threw; the request should be cancelled (its consumer is gone). */
    Delivery(TokenSink sink, int capacityTokens, Executor executor, Consumer<RuntimeException> sinkFailed) {
        this.sink = sink;
        this.capacityTokens = capacityTokens;
        this.executor = executor;
        this.sinkFailed = sinkFailed;
    }

    /** Queues a delta; false when the consumer is too far behind (nothing is queued then). */
    synchronized boolean offer(GenerationDelta d) {
        if (overflowed || completion != null || error != null) return false;
        if (waitingTokens + d.tokenIds().size() > capacityTokens) {
            overflowed = true;
            waiting = null;
            waitingTokens = 0;
            return false;
        }
        waiting = waiting == null ? d : waiting.then(d);
        waitingTokens += d.tokenIds().size();
        schedule();
        return true;
    }

    /** The normal end, after any last delta. */
    synchronized void complete(GenerationDelta last, Completion c) {
        if (completion != null || error != null) return;
        if (!last.isEmpty()) waiting = waiting == null ? last : waiting.then(last);
        completion = c;
        schedule();
    }

    /** Any other end. A consumer too slow loses what was waiting, and a blocked sink call is interrupted. */
    synchronized void fail(GenerationException e) {
        if (completion != null || error != null) return;
        error = e;
        if (e instanceof GenerationException.ConsumerTooSlow) {
            waiting = null;
            waitingTokens = 0;
            if (drainer != null) drainer.interrupt();
        }
        schedule();
    }

    synchronized boolean overflowed() {
        return overflowed;
    }

    private void schedule() {
        if (!draining && !ended) {
            draining = true;
            executor.execute(this::drain);
        }
    }

    private void drain() {
        synchronized (this) {
            drainer = Thread.currentThread();
        }
        try {
            while (true) {
                GenerationDelta d;
                Completion c = null;
                GenerationException e = null;
                synchronized (this) {
                    d = waiting;
                    waiting = null;
                    waitingTokens = 0;
                    if (d == null) {
                        if (completion == null && error == null) {
                            draining = false;
                            return;
                        }
                        c = completion;
                        e = error;
                        ended = true;
                    }
                }
                if (d != null) {
                    try {
                        sink.onDelta(d);
                    } catch (InterruptedException interrupted) {
                        Thread.interrupted();               // a consumer too slow: its end follows
                    }
                } else {
                    Thread.interrupted();
                    if (e != null) sink.onError(e);
                    else sink.onComplete(c);
                    return;
                }
            }
        } catch (RuntimeException failure) {
            synchronized (this) {
                ended = true;
                draining = false;
            }
            sinkFailed.accept(failure);
        } finally {
            synchronized (this) {
                drainer = null;
            }
        }
    }
}
