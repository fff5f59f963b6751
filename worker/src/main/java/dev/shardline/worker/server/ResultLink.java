package dev.shardline.worker.server;

import io.grpc.Context;

import dev.shardline.proto.stage.v1.ControlPlaneGrpc;
import dev.shardline.proto.stage.v1.ResultAck;
import dev.shardline.proto.stage.v1.StepResult;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The last stage's {@code ControlPlane.ReportResults} stream to the coordinator: one StepResult per micro-batch,
 * in step order. If the stream fails, the next report opens a new one.
 */
final class ResultLink implements AutoCloseable {
    private final String address;
    private final ManagedChannel channel;
    private final Consumer<String> log;
    private final AtomicLong acked = new AtomicLong();
    // guarded by this
    private StreamObserver<StepResult> requests;
    private int generation;
    private Status failure;
    private boolean closed;

    private ResultLink(String address, Consumer<String> log) {
        this.address = address;
        this.channel = Channels.open(address);
        this.log = log;
    }

    static ResultLink open(String coordinatorAddress, Consumer<String> log) {
        ResultLink link = new ResultLink(coordinatorAddress, log);
        synchronized (link) {
            link.reopen();
        }
        return link;
    }

    private void reopen() {
        int gen = ++generation;
        failure = null;
        // opened outside the caller's gRPC context: the Assign call that creates this link ends, and its
        // context's cancellation must not cancel the stream
        Context previous = Context.ROOT.attach();
        try {
            requests = ControlPlaneGrpc.newStub(channel).reportResults(new StreamObserver<>() {
                @Override
                public void onNext(ResultAck ack) {
                    acked.incrementAndGet();
                }

                @Override
                public void onError(Throwable t) {
                    ended(gen, Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    ended(gen, Status.UNAVAILABLE.withDescription("the coordinator ended the results stream"));
                }
            });
        } finally {
            Context.ROOT.detach(previous);
        }
    }

    private synchronized void ended(int gen, Status s) {
        if (gen == generation && failure == null && !closed) {
            failure = s;
            log.accept("the results stream to the coordinator at " + address + " failed: " + s.getCode()
                    + (s.getDescription() == null ? "" : " " + s.getDescription()));
        }
    }

    synchronized void report(StepResult result) throws LinkException {
        if (closed) {
            throw new LinkException("the results link to " + address + " is closed");
        }
        if (failure != null) {
            reopen();
        }
        requests.onNext(result);
    }

    /** ResultAcks received so far. */
    long acked() {
        return acked.get();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (!closed && failure == null) {
                try {
                    requests.onCompleted();
                } catch (RuntimeException ignored) {
                    // already gone
                }
            }
            closed = true;
        }
        Channels.close(channel);
    }
}
