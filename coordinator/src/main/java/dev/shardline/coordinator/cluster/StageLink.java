package dev.shardline.coordinator.cluster;

import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * The coordinator's end of the {@code Stage.Forward} stream to stage 0, with the stage's credits: the stage grants
 * an initial credit and returns one with each ack; {@link #tryCredit()} takes one without waiting and
 * {@link #onCredit} is told when one comes back.
 */
public final class StageLink implements AutoCloseable {
    private final Semaphore credit = new Semaphore(0);
    private final StreamObserver<StageMessage> out;
    private final Consumer<String> onBroken;
    private volatile Runnable onCredit = () -> { };
    private volatile boolean closed;

    public StageLink(ManagedChannel channel, Consumer<String> onBroken) {
        this.onBroken = onBroken;
        this.out = StageGrpc.newStub(channel).forward(new StreamObserver<>() {
            private boolean first = true;

            @Override
            public void onNext(StageAck ack) {
                if (first) {
                    first = false;
                    credit.release(Math.max(1, ack.getCredit()));
                } else {
                    credit.release();
                }
                onCredit.run();
            }

            @Override
            public void onError(Throwable t) {
                if (!closed) onBroken.accept("stage 0 stream failed: " + t.getMessage());
                credit.release(1 << 20);
            }

            @Override
            public void onCompleted() {
                if (!closed) onBroken.accept("stage 0 closed its stream");
                credit.release(1 << 20);
            }
        });
    }

    /** Takes one credit if stage 0 has one, without waiting. */
    public boolean tryCredit() {
        return credit.tryAcquire();
    }

    /** Gives back a credit taken by {@link #tryCredit} that was not used. */
    public void returnCredit() {
        credit.release();
    }

    /** Runs (on the transport thread, without waiting) each time stage 0 returns a credit. */
    public void onCredit(Runnable r) {
        onCredit = r;
    }

    public synchronized void send(StageMessage m) {
        out.onNext(m);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            out.onCompleted();
        } catch (RuntimeException ignored) {
            // the stream may already be broken
        }
    }
}
