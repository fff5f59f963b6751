package dev.shardline.worker.server;

import io.grpc.Context;

import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The sending side of a {@code Stage.Forward} stream into the next stage, under the receiver's credit: the compute
 * thread {@link #awaitCredit()}s before it sends, so a stage never has more than {@code credit} micro-batches
 * unacknowledged downstream. When the connected stream breaks, {@code onBroken} hears it at once (the worker reports
 * it to the coordinator without waiting for its next heartbeat); the next send opens a new stream (once; the step is
 * dropped and logged if that fails too).
 */
final class StageLink implements AutoCloseable {
    private static final Duration REOPEN_PATIENCE = Duration.ofSeconds(5);
    private static final Set<Status.Code> RETRYABLE = Set.of(Status.Code.UNAVAILABLE, Status.Code.FAILED_PRECONDITION,
            Status.Code.DEADLINE_EXCEEDED);

    private final String address;
    private final ManagedChannel channel;
    private final Consumer<String> log;
    private final Consumer<String> onBroken;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // all guarded by lock
    private StreamObserver<StageMessage> requests;
    private int generation;
    private boolean granted;
    private int credit;
    private int outstanding;
    private Status failure;
    private boolean closed;
    private boolean connected;   // the first stream got its credit: breaks from now on are news

    private StageLink(String address, Consumer<String> log, Consumer<String> onBroken) {
        this.address = address;
        this.channel = Channels.open(address);
        this.log = log;
        this.onBroken = onBroken;
    }

    /**
     * Opens the stream and waits for the initial credit, retrying for up to {@code patience} while the next stage
     * is unreachable or not yet assigned (so stages may be assigned in any order). Once connected, a stream that
     * breaks (an error, or the next stage ending it) is described to {@code onBroken}, on a gRPC thread: it must not
     * block.
     */
    static StageLink connect(String address, Duration patience, Consumer<String> log, Consumer<String> onBroken)
            throws LinkException, InterruptedException {
        StageLink link = new StageLink(address, log, onBroken);
        try {
            long deadline = System.nanoTime() + patience.toNanos();
            boolean told = false;
            while (true) {
                Status s = link.open(Math.min(REOPEN_PATIENCE.toNanos(), Math.max(1, deadline - System.nanoTime())));
                if (s == null) {
                    link.markConnected();
                    return link;
                }
                if (!RETRYABLE.contains(s.getCode()) || System.nanoTime() >= deadline) {
                    throw new LinkException("next stage at " + address + ": " + describe(s));
                }
                if (!told) {
                    log.accept("waiting for the next stage at " + address + " (" + describe(s) + ")");
                    told = true;
                }
                Thread.sleep(200);
            }
        } catch (LinkException | InterruptedException | RuntimeException e) {
            link.close();
            throw e;
        }
    }

    private void markConnected() {
        lock.lock();
        try {
            connected = true;
        } finally {
            lock.unlock();
        }
    }

    /** Opens a fresh stream; null once its credit arrived, else why not within timeoutNanos. */
    private Status open(long timeoutNanos) throws InterruptedException {
        lock.lock();
        try {
            int gen = ++generation;
            granted = false;
            failure = null;
            credit = 0;
            outstanding = 0;
            // opened outside the caller's gRPC context: the Assign call that creates this link ends, and its
            // context's cancellation must not cancel the stream
            Context previous = Context.ROOT.attach();
            try {
                requests = StageGrpc.newStub(channel).forward(new Acks(gen));
            } finally {
                Context.ROOT.detach(previous);
            }
            long left = timeoutNanos;
            while (!granted && failure == null && !closed && left > 0) {
                left = changed.awaitNanos(left);
            }
            if (granted) {
                return null;
            }
            Status why = closed ? Status.CANCELLED.withDescription("link closed")
                    : failure != null ? failure : Status.DEADLINE_EXCEEDED.withDescription("no credit granted in time");
            failure = why;
            requests.onError(Status.CANCELLED.withDescription("giving up on this stream").asRuntimeException());
            return why;
        } finally {
            lock.unlock();
        }
    }

    /** Blocks until a micro-batch may be sent; returns the nanoseconds spent waiting. */
    long awaitCredit() throws LinkException, InterruptedException {
        long start = System.nanoTime();
        lock.lock();
        try {
            if (failure != null && !closed) {
                log.accept("the stream to the next stage at " + address + " failed (" + describe(failure) + "); reopening it");
                Status s = open(REOPEN_PATIENCE.toNanos());
                if (s != null) {
                    throw new LinkException("next stage at " + address + " unreachable: " + describe(s));
                }
            }
            while (outstanding >= credit && failure == null && !closed) {
                changed.await();
            }
            if (closed) {
                throw new LinkException("the link to " + address + " is closed");
            }
            if (failure != null) {
                throw new LinkException("next stage at " + address + ": " + describe(failure));
            }
            return System.nanoTime() - start;
        } finally {
            lock.unlock();
        }
    }

    /** Sends one micro-batch (header, then its chunks); call after {@link #awaitCredit()}. */
    void send(MicroBatchHeader header, List<ActivationChunk> chunks, StageStats stats) throws LinkException {
        lock.lock();
        try {
            if (closed || failure != null) {
                throw new LinkException("the link to " + address + " is " + (closed ? "closed" : describe(failure)));
            }
            StageMessage h = StageMessage.newBuilder().setHeader(header).build();
            requests.onNext(h);
            stats.sent(h.getSerializedSize(), 0, false);
            for (ActivationChunk c : chunks) {
                StageMessage m = StageMessage.newBuilder().setChunk(c).build();
                requests.onNext(m);
                stats.sent(m.getSerializedSize(), c.getData().size(), true);
            }
            outstanding++;
        } finally {
            lock.unlock();
        }
    }

    String address() {
        return address;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (!closed && requests != null && failure == null) {
                try {
                    requests.onCompleted();
                } catch (RuntimeException ignored) {
                    // the stream is already gone
                }
            }
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        Channels.close(channel);
    }

    private static String describe(Status s) {
        return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }

    /** Acks of one stream instance; those of a replaced stream are ignored. */
    private final class Acks implements StreamObserver<StageAck> {
        private final int gen;

        Acks(int gen) {
            this.gen = gen;
        }

        @Override
        public void onNext(StageAck ack) {
            lock.lock();
            try {
                if (gen != generation) return;
                if (!granted) {
                    granted = true;
                } else {
                    outstanding = Math.max(0, outstanding - 1);
                    if (!ack.getAccepted()) {
                        log.accept("the next stage at " + address + " refused step " + ack.getStepId() + ": " + ack.getError());
                    }
                }
                credit = ack.getCredit();
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void onError(Throwable t) {
            ended(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            ended(Status.UNAVAILABLE.withDescription("the next stage ended the stream"));
        }

        private void ended(Status s) {
            boolean news;
            lock.lock();
            try {
                news = gen == generation && failure == null && !closed && connected;
                if (gen == generation && failure == null) {
                    failure = s;
                    changed.signalAll();
                }
            } finally {
                lock.unlock();
            }
            if (news) {
                onBroken.accept("the stream to the next stage at " + address + " broke: " + describe(s));
            }
        }
    }
}
