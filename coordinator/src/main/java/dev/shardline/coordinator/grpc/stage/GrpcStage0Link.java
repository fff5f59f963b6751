package dev.shardline.coordinator.grpc.stage;

import dev.shardline.coordinator.cluster.LinkListener;
import dev.shardline.coordinator.cluster.OutboundStep;
import dev.shardline.coordinator.cluster.Stage0Link;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.Semaphore;

/**
 * The coordinator's end of the {@code Stage.Forward} stream into stage 0, with the stage's credits: the stage grants
 * an initial credit and returns one with each ack; {@link #tryCredit()} takes one without waiting.
 */
final class GrpcStage0Link implements Stage0Link {
    private final Semaphore credit = new Semaphore(0);
    private final StreamObserver<StageMessage> out;
    private volatile boolean closed;

    /** {@code stage0}: the first stage's worker, named in the link's errors. */
    GrpcStage0Link(ManagedChannel channel, String stage0, LinkListener listener) {
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
                listener.onCredit();
            }

            @Override
            public void onError(Throwable t) {
                if (!closed) listener.onBroken("the stream into stage 0 (" + stage0 + ") failed: " + t.getMessage());
            }

            @Override
            public void onCompleted() {
                if (!closed) listener.onBroken("stage 0 (" + stage0 + ") closed its stream");
            }
        });
    }

    @Override
    public boolean tryCredit() {
        return !closed && credit.tryAcquire();
    }

    @Override
    public void returnCredit() {
        credit.release();
    }

    @Override
    public synchronized void send(OutboundStep step) {
        if (closed) return;
        out.onNext(StageMessage.newBuilder().setHeader(StageProtos.header(step)).build());
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
