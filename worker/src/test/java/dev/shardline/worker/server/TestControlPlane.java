package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.ControlPlaneGrpc;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.HeartbeatResponse;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.RegisterResponse;
import dev.shardline.proto.stage.v1.ResultAck;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.proto.stage.v1.WorkerCommand;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/** A coordinator's ControlPlane for tests: records registrations and heartbeats, collects StepResults. */
final class TestControlPlane implements AutoCloseable {
    static final int HEARTBEAT_MS = 100;

    final List<RegisterRequest> registrations = new CopyOnWriteArrayList<>();
    final List<HeartbeatRequest> heartbeats = new CopyOnWriteArrayList<>();
    final BlockingQueue<StepResult> results = new LinkedBlockingQueue<>();
    final AtomicReference<WorkerCommand> nextCommand = new AtomicReference<>(WorkerCommand.WORKER_COMMAND_NONE);
    private final Server server;

    private TestControlPlane(Server server) {
        this.server = server;
    }

    static TestControlPlane start(int port) throws IOException {
        Impl impl = new Impl();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .addService(impl).build().start();
        TestControlPlane cp = new TestControlPlane(server);
        impl.owner = cp;
        return cp;
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    StepResult nextResult() throws InterruptedException {
        StepResult r = results.poll(20, TimeUnit.SECONDS);
        assertNotNull(r, "no StepResult within 20 s");
        return r;
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static final class Impl extends ControlPlaneGrpc.ControlPlaneImplBase {
        volatile TestControlPlane owner;

        @Override
        public void register(RegisterRequest request, StreamObserver<RegisterResponse> out) {
            owner.registrations.add(request);
            out.onNext(RegisterResponse.newBuilder().setAccepted(true).setHeartbeatIntervalMs(HEARTBEAT_MS).build());
            out.onCompleted();
        }

        @Override
        public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> out) {
            owner.heartbeats.add(request);
            WorkerCommand c = owner.nextCommand.getAndSet(WorkerCommand.WORKER_COMMAND_NONE);
            out.onNext(HeartbeatResponse.newBuilder().setCommand(c).setReason("test").build());
            out.onCompleted();
        }

        @Override
        public StreamObserver<StepResult> reportResults(StreamObserver<ResultAck> acks) {
            return new StreamObserver<>() {
                @Override
                public void onNext(StepResult r) {
                    owner.results.add(r);
                    synchronized (acks) {
                        acks.onNext(ResultAck.newBuilder().setPipelineId(r.getPipelineId()).setStepId(r.getStepId()).build());
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    synchronized (acks) {
                        acks.onCompleted();
                    }
                }
            };
        }
    }
}
