package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A next stage under the test's control: grants credit 1 and acknowledges a micro-batch only when told to (or
 * every one at once in auto mode), so the test can make a worker wait for downstream credit.
 */
final class HoldingStage extends StageGrpc.StageImplBase implements AutoCloseable {
    final BlockingQueue<StageMessage> received = new LinkedBlockingQueue<>();
    private final Server server;
    private volatile StreamObserver<StageAck> acks;
    private volatile boolean auto;

    private HoldingStage() throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(AssignmentPlan.INBOUND_LIMIT).addService(this).build().start();
    }

    static HoldingStage start() throws IOException {
        return new HoldingStage();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    @Override
    public StreamObserver<StageMessage> forward(StreamObserver<StageAck> out) {
        acks = out;
        ack(0);
        return new StreamObserver<>() {
            @Override
            public void onNext(StageMessage m) {
                received.add(m);
                if (auto && m.hasHeader()) {
                    ack(m.getHeader().getStepId());
                }
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
                synchronized (HoldingStage.this) {
                    out.onCompleted();   // the sender is done: so is this side
                }
            }
        };
    }

    void ack(long step) {
        StreamObserver<StageAck> a = acks;
        synchronized (this) {
            a.onNext(StageAck.newBuilder().setStepId(step).setAccepted(true).setCredit(1).build());
        }
    }

    /** From now on acknowledge every header as it arrives. */
    void auto(boolean on) {
        auto = on;
    }

    /** The next header received (skipping chunks), or null within the timeout. */
    StageMessage nextHeader(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            StageMessage m = received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (m == null || m.hasHeader()) return m;
        }
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
