package dev.shardline.coordinator.generation;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * One request's way out: a bounded buffer between the pipeline (which offers deltas and never waits) and the
 * request's {@link TokenSink} (called on a virtual thread started when there is something to deliver, so an idle
 * request holds no thread). Deltas that pile up while the sink is busy are merged into one (unless the request asked
 * for them one by one: forced-token test requests, so that a test sees every token's own delta). When more than
 * {@code capacityTokens} tokens wait, {@link #offer} refuses: the caller stops the generation, and the end it then
 * reports ({@link GenerationException.ConsumerTooSlow}) replaces what was waiting and interrupts a sink call that
 * is still blocked.
 */
final class Delivery {
    private final TokenSink sink;
    private final int capacityTokens;
    private final Executor executor;
    private final Consumer<RuntimeException> sinkFailed;
    private final boolean merge;
    private GenerationDelta waiting;                               // merging
    private final ArrayDeque<GenerationDelta> queue = new ArrayDeque<>();   // one by one
    private int waitingTokens;
    private Completion completion;
    private GenerationException error;
    private boolean ended;          // the end was handed to the sink
    private boolean draining;       // a delivery thread runs
    private boolean overflowed;
    private boolean startPending;   // the request reached a pipeline; the sink has not heard yet
    private boolean startOffered;
    private Thread drainer;

    /**
     * {@code sinkFailed}: the sink threw; the request should be cancelled (its consumer is gone). {@code merge}:
     * deltas that wait are merged into one (false: handed over one by one).
     */
    Delivery(TokenSink sink, int capacityTokens, Executor executor, boolean merge, Consumer<RuntimeException> sinkFailed) {
        this.sink = sink;
        this.merge = merge;
        this.capacityTokens = capacityTokens;
        this.executor = executor;
        this.sinkFailed = sinkFailed;
    }

    /** Queues a delta; false when the consumer is too far behind (nothing is queued then). */
    synchronized boolean offer(GenerationDelta d) {
        if (overflowed || completion != null || error != null) return false;
        if (waitingTokens + d.tokenIds().size() > capacityTokens) {
            overflowed = true;
            dropWaiting();
            return false;
        }
        enqueue(d);
        waitingTokens += d.tokenIds().size();
        schedule();
        return true;
    }

    /** The request reached a pipeline (once; before its first delta). */
    synchronized void started() {
        if (startOffered || completion != null || error != null || ended) return;
        startOffered = true;
        startPending = true;
        schedule();
    }

    /** The normal end, after any last delta. */
    synchronized void complete(GenerationDelta last, Completion c) {
        if (completion != null || error != null) return;
        if (!last.isEmpty()) enqueue(last);
        completion = c;
        schedule();
    }

    /** Any other end. A consumer too slow loses what was waiting, and a blocked sink call is interrupted. */
    synchronized void fail(GenerationException e) {
        if (completion != null || error != null) return;
        error = e;
        if (e instanceof GenerationException.ConsumerTooSlow) {
            dropWaiting();
            if (drainer != null) drainer.interrupt();
        }
        schedule();
    }

    synchronized boolean overflowed() {
        return overflowed;
    }

    private void enqueue(GenerationDelta d) {
        if (merge) waiting = waiting == null ? d : waiting.then(d);
        else queue.add(d);
    }

    private GenerationDelta takeWaiting() {
        if (!merge) {
            GenerationDelta d = queue.poll();
            if (d != null) waitingTokens -= d.tokenIds().size();
            return d;
        }
        GenerationDelta d = waiting;
        waiting = null;
        waitingTokens = 0;
        return d;
    }

    private void dropWaiting() {
        waiting = null;
        queue.clear();
        waitingTokens = 0;
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
                boolean start;
                synchronized (this) {
                    start = startPending;
                    startPending = false;
                }
                if (start) {
                    try {
                        sink.onStarted();
                    } catch (InterruptedException interrupted) {
                        Thread.interrupted();               // a consumer too slow: its end follows
                    }
                }
                synchronized (this) {
                    d = takeWaiting();
                    if (d == null) {
                        if (startPending) continue;
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
