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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * A coordinator's ControlPlane for tests: records registrations and heartbeats, collects StepResults (the first
 * message of every ReportResults stream goes to {@link #streamOpeners}, the rest to {@link #results}), answers
 * heartbeats with the commands a test queues (for one worker or for whoever beats next), asks workers it does not
 * know to register again, and answers a drain request with DRAIN for the workers a test lets drain.
 */
final class TestControlPlane implements AutoCloseable {
    static final int HEARTBEAT_MS = 100;

    final List<RegisterRequest> registrations = new CopyOnWriteArrayList<>();
    final List<HeartbeatRequest> heartbeats = new CopyOnWriteArrayList<>();
    final List<StepResult> streamOpeners = new CopyOnWriteArrayList<>();
    final BlockingQueue<StepResult> results = new LinkedBlockingQueue<>();
    /** Workers whose drain_requested heartbeat is answered with DRAIN. */
    final Set<String> drainOnRequest = ConcurrentHashMap.newKeySet();
    private final AtomicReference<HeartbeatResponse> next = new AtomicReference<>();
    private final Map<String, HeartbeatResponse> nextFor = new ConcurrentHashMap<>();
    private final Server server;

    private TestControlPlane(Server server) {
        this.server = server;
    }

    static TestControlPlane start(int port) throws IOException {
        return start(port, HEARTBEAT_MS);
    }

    /** A control plane on port (0 = free) that tells workers to heartbeat every heartbeatMs. */
    static TestControlPlane start(int port, int heartbeatMs) throws IOException {
        Impl impl = new Impl(heartbeatMs);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .addService(impl).build().start();
        TestControlPlane cp = new TestControlPlane(server);
        impl.owner = cp;
        return cp;
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    int port() {
        return server.getPort();
    }

    /** The next heartbeat, whoever sends it, is answered with this command. */
    void command(WorkerCommand c) {
        next.set(HeartbeatResponse.newBuilder().setCommand(c).setReason("test").build());
    }

    /** The next heartbeat of workerId is answered with this response. */
    void command(String workerId, HeartbeatResponse r) {
        nextFor.put(workerId, r);
    }

    /** The next heartbeat of workerId is answered with a release of that plan epoch. */
    void release(String workerId, long epoch) {
        command(workerId, HeartbeatResponse.newBuilder().setCommand(WorkerCommand.WORKER_COMMAND_RELEASE)
                .setPlanEpoch(epoch).setReason("test release").build());
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
        private final int heartbeatMs;
        volatile TestControlPlane owner;

        Impl(int heartbeatMs) {
            this.heartbeatMs = heartbeatMs;
        }

        @Override
        public void register(RegisterRequest request, StreamObserver<RegisterResponse> out) {
            owner.registrations.add(request);
            out.onNext(RegisterResponse.newBuilder().setAccepted(true).setHeartbeatIntervalMs(heartbeatMs).build());
            out.onCompleted();
        }

        @Override
        public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> out) {
            TestControlPlane o = owner;
            o.heartbeats.add(request);
            String id = request.getWorkerId();
            HeartbeatResponse r = o.nextFor.remove(id);
            if (r == null && o.registrations.stream().noneMatch(x -> x.getWorkerId().equals(id))) {
                r = HeartbeatResponse.newBuilder().setCommand(WorkerCommand.WORKER_COMMAND_REGISTER)
                        .setReason("unknown worker").build();
            }
            if (r == null && request.getDrainRequested() && o.drainOnRequest.contains(id)) {
                r = HeartbeatResponse.newBuilder().setCommand(WorkerCommand.WORKER_COMMAND_DRAIN)
                        .setReason("drain requested").build();
            }
            if (r == null) {
                r = o.next.getAndSet(null);
            }
            out.onNext(r != null ? r : HeartbeatResponse.newBuilder().setCommand(WorkerCommand.WORKER_COMMAND_NONE).build());
            out.onCompleted();
        }

        @Override
        public StreamObserver<StepResult> reportResults(StreamObserver<ResultAck> acks) {
            return new StreamObserver<>() {
                private boolean first = true;

                @Override
                public void onNext(StepResult r) {
                    if (first) {
                        owner.streamOpeners.add(r);
                        first = false;
                    } else {
                        owner.results.add(r);
                    }
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
