package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageMessage;
import dev.shardline.proto.stage.v1.codec.ActivationAssembler;
import dev.shardline.proto.stage.v1.codec.ActivationFormatException;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The receiving side of one {@code Stage.Forward} stream: grants the initial credit, reassembles each micro-batch
 * (header + chunks, checked by {@link ActivationAssembler}), refuses a sender that exceeds its credit, and hands
 * complete micro-batches to the worker's inbox. The compute thread {@link #ack}s each one when it takes it out of
 * the inbox. A protocol violation ends the stream with INVALID_ARGUMENT naming the step.
 */
final class InboundStream implements StreamObserver<StageMessage> {

    /** What the compute thread takes from the inbox: a whole micro-batch and where it came from. */
    record MicroBatch(InboundStream from, MicroBatchHeader header, float[] hidden, long receivedNanos) {
    }

    /** Where complete micro-batches go, and who hears that the stream ended. */
    interface Sink {
        void enqueue(MicroBatch mb);

        void ended(InboundStream stream, String why);
    }

    private final ActiveStage stage;
    private final StreamObserver<StageAck> acks;
    private final int credit;
    private final Sink sink;
    private final AtomicInteger unacked = new AtomicInteger();
    // touched by the gRPC thread delivering this stream's messages only (gRPC serializes them)
    private ActivationAssembler assembling;
    private MicroBatchHeader pending;
    private long lastStep;
    // guarded by this
    private boolean halfClosed;
    private boolean done;

    InboundStream(ActiveStage stage, StreamObserver<StageAck> acks, int credit, Sink sink) {
        this.stage = stage;
        this.acks = acks;
        this.credit = credit;
        this.sink = sink;
    }

    ActiveStage stage() {
        return stage;
    }

    /** Sends the initial credit grant (step 0). */
    synchronized void grant() {
        acks.onNext(StageAck.newBuilder().setStepId(0).setAccepted(true).setCredit(credit).build());
    }

    @Override
    public void onNext(StageMessage message) {
        if (isDone()) {
            return; // failed already: what the sender still had in flight is dropped
        }
        try {
            switch (message.getKindCase()) {
                case HEADER -> onHeader(message.getHeader());
                case CHUNK -> onChunk(message.getChunk());
                case KIND_NOT_SET -> throw new ActivationFormatException(lastStep, "a StageMessage with neither header nor chunk");
            }
        } catch (ActivationFormatException e) {
            fail(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
        }
    }

    private void onHeader(MicroBatchHeader h) {
        long step = h.getStepId();
        if (assembling != null) {
            throw new ActivationFormatException(pending.getStepId(), "the header of step " + step
                    + " arrived before all chunks of this step");
        }
        if (step <= lastStep) {
            throw new ActivationFormatException(step, "arrived after step " + lastStep + " (step ids must increase)");
        }
        if (unacked.get() >= credit) {
            throw new ActivationFormatException(step, "the sender exceeds its credit of " + credit
                    + " unacknowledged micro-batches");
        }
        long rows = 0;
        for (BatchEntry e : h.getEntriesList()) {
            if (e.getRows() != e.getTokenIdsCount()) {
                throw new ActivationFormatException(step, "sequence " + e.getSequenceId() + " has rows " + e.getRows()
                        + " but " + e.getTokenIdsCount() + " token_ids");
            }
            rows += e.getRows();
        }
        if (!stage.first() && h.getError().isEmpty()) {
            int cols = stage.plan.config().hiddenSize();
            if (h.getHiddenRows() != rows || h.getHiddenCols() != cols) {
                throw new ActivationFormatException(step, "hidden state is [" + h.getHiddenRows() + ", "
                        + h.getHiddenCols() + "], this stage needs [" + rows + ", " + cols + "] (entries' rows, hidden size)");
            }
        }
        ActivationAssembler asm = ActivationAssembler.forHeader(h);
        lastStep = step;
        if (asm.isComplete()) {
            complete(h, asm);
        } else {
            assembling = asm;
            pending = h;
        }
    }

    private void onChunk(ActivationChunk c) {
        if (assembling == null) {
            throw new ActivationFormatException(c.getStepId(), "chunk " + c.getChunkIndex() + " arrived without a header");
        }
        assembling.accept(c);
        stage.stats.received(c.getData().size());
        if (assembling.isComplete()) {
            ActivationAssembler asm = assembling;
            assembling = null;
            complete(pending, asm);
        }
    }

    private void complete(MicroBatchHeader h, ActivationAssembler asm) {
        float[] hidden = asm.finish();
        unacked.incrementAndGet();
        sink.enqueue(new MicroBatch(this, h, hidden.length == 0 ? null : hidden, System.nanoTime()));
    }

    /** Acknowledges a micro-batch taken out of the inbox, returning one credit. */
    synchronized void ack(long stepId, boolean accepted, String error) {
        if (done) return;
        unacked.decrementAndGet();
        StageAck.Builder a = StageAck.newBuilder().setStepId(stepId).setAccepted(accepted).setCredit(credit);
        if (error != null) {
            a.setError(error);
        }
        acks.onNext(a.build());
        if (halfClosed && unacked.get() == 0) {
            done = true;
            acks.onCompleted();
            sink.ended(this, null);
        }
    }

    synchronized boolean isDone() {
        return done;
    }

    /** Ends the stream with a status (protocol violation, or the assignment went away). */
    synchronized void fail(Status status) {
        if (done) return;
        done = true;
        try {
            acks.onError(status.asRuntimeException());
        } catch (RuntimeException ignored) {
            // the call is already cancelled
        }
        sink.ended(this, status.getCode() + ": " + status.getDescription());
    }

    @Override
    public synchronized void onError(Throwable t) {
        if (done) return;
        done = true;
        sink.ended(this, "the sender ended the stream: " + Status.fromThrowable(t).getCode());
    }

    @Override
    public void onCompleted() {
        if (assembling != null) {
            fail(Status.INVALID_ARGUMENT.withDescription("step " + pending.getStepId()
                    + ": the stream ended before all chunks of this step arrived"));
            return;
        }
        synchronized (this) {
            if (done) return;
            halfClosed = true;
            if (unacked.get() == 0) {
                done = true;
                acks.onCompleted();
                sink.ended(this, null);
            }
        }
    }
}
