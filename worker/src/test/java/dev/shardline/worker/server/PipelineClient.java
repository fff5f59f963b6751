package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The test's end of a Forward stream into a stage (what the coordinator does into stage 0): it waits for the
 * initial credit and never has more than the granted credit unacknowledged (unless told to ignore it).
 */
final class PipelineClient implements AutoCloseable {
    final BlockingQueue<StageAck> acks = new LinkedBlockingQueue<>();
    final List<Long> ackedSteps = new CopyOnWriteArrayList<>();
    final CompletableFuture<Status> ended = new CompletableFuture<>();
    private final StreamObserver<StageMessage> out;
    private int credit;
    private int unacked;
    int maxUnacked;

    private PipelineClient(ManagedChannel channel) {
        out = StageGrpc.newStub(channel).forward(new StreamObserver<>() {
            @Override
            public void onNext(StageAck ack) {
                acks.add(ack);
            }

            @Override
            public void onError(Throwable t) {
                ended.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                ended.complete(Status.OK);
            }
        });
    }

    static PipelineClient open(ManagedChannel channel) throws InterruptedException {
        PipelineClient c = new PipelineClient(channel);
        StageAck grant = c.acks.poll(10, TimeUnit.SECONDS);
        assertNotNull(grant, "no initial credit");
        assertEquals(0, grant.getStepId(), "the first ack grants the initial credit");
        assertTrue(grant.getCredit() >= 1);
        c.credit = grant.getCredit();
        return c;
    }

    int credit() {
        return credit;
    }

    /** Sends a micro-batch of headers only (into stage 0), waiting for credit first. */
    void send(MicroBatchHeader header) throws InterruptedException {
        while (unacked >= credit) {
            takeAck();
        }
        sendIgnoringCredit(StageMessage.newBuilder().setHeader(header).build());
        unacked++;
        maxUnacked = Math.max(maxUnacked, unacked);
    }

    void sendIgnoringCredit(StageMessage message) {
        out.onNext(message);
    }

    StageAck takeAck() throws InterruptedException {
        StageAck ack = acks.poll(20, TimeUnit.SECONDS);
        assertNotNull(ack, "no ack within 20 s");
        ackedSteps.add(ack.getStepId());
        credit = ack.getCredit();
        unacked--;
        return ack;
    }

    /** Collects the acks of everything sent. */
    void drainAcks() throws InterruptedException {
        while (unacked > 0) {
            takeAck();
        }
    }

    @Override
    public void close() {
        try {
            out.onCompleted();
        } catch (RuntimeException ignored) {
            // already failed
        }
    }
}
