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
 * The last stage's {@code ControlPlane.ReportResults} stream to the coordinator: a greeting (a StepResult of step 0
 * naming the pipeline and plan epoch, so the coordinator knows whose stream it is), then one StepResult per
 * micro-batch, in step order. A stream that fails is described to {@code onBroken} at once (the worker reports it to
 * the coordinator without waiting for its next heartbeat); the next report opens a new one, greeting again. The
 * coordinator ending the stream (it released the pipeline) is not a failure.
 */
final class ResultLink implements AutoCloseable {
    private final String address;
    private final StepResult greeting;
    private final ManagedChannel channel;
    private final Consumer<String> log;
    private final Consumer<String> onBroken;
    private final AtomicLong acked = new AtomicLong();
    // guarded by this
    private StreamObserver<StepResult> requests;
    private int generation;
    private Status failure;
    private boolean closed;

    private ResultLink(String address, StepResult greeting, Consumer<String> log, Consumer<String> onBroken) {
        this.address = address;
        this.greeting = greeting;
        this.channel = Channels.open(address);
        this.log = log;
        this.onBroken = onBroken;
    }

    /**
     * Opens the stream to the coordinator's ControlPlane at coordinatorAddress and greets it for the pipeline and
     * plan epoch. onBroken runs on a gRPC thread: it must not block.
     */
    static ResultLink open(String coordinatorAddress, int pipelineId, long planEpoch, Consumer<String> log,
                           Consumer<String> onBroken) {
        StepResult greeting = StepResult.newBuilder().setStepId(0).setPipelineId(pipelineId).setPlanEpoch(planEpoch).build();
        ResultLink link = new ResultLink(coordinatorAddress, greeting, log, onBroken);
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
                    ended(gen, Status.fromThrowable(t), true);
                }

                @Override
                public void onCompleted() {
                    ended(gen, Status.UNAVAILABLE.withDescription("the coordinator ended the results stream"), false);
                }
            });
        } finally {
            Context.ROOT.detach(previous);
        }
        requests.onNext(greeting);
    }

    private void ended(int gen, Status s, boolean broken) {
        String description = "the results stream to the coordinator at " + address + " broke: " + s.getCode()
                + (s.getDescription() == null ? "" : ": " + s.getDescription());
        synchronized (this) {
            if (gen != generation || failure != null || closed) {
                return;
            }
            failure = s;
            log.accept(broken ? description : "the coordinator at " + address + " ended the results stream");
        }
        if (broken) {
            onBroken.accept(description);
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
