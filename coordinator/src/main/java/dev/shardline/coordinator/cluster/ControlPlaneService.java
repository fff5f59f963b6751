package dev.shardline.coordinator.cluster;

import dev.shardline.proto.stage.v1.ControlPlaneGrpc;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.HeartbeatResponse;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.RegisterResponse;
import dev.shardline.proto.stage.v1.ResultAck;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.proto.stage.v1.WorkerCommand;
import io.grpc.stub.StreamObserver;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The coordinator's side of the internal control plane: workers register and heartbeat here, and the last stage of
 * each pipeline streams its sampled tokens back here (the ring closes at the coordinator).
 */
public final class ControlPlaneService extends ControlPlaneGrpc.ControlPlaneImplBase {
    private final WorkerRegistry registry;
    private final int heartbeatMs;
    private final Consumer<String> log;
    private final Map<Integer, Consumer<StepResult>> resultSinks = new ConcurrentHashMap<>();

    public ControlPlaneService(WorkerRegistry registry, int heartbeatMs, Consumer<String> log) {
        this.registry = registry;
        this.heartbeatMs = heartbeatMs;
        this.log = log;
    }

    /** Routes the results of one pipeline to its runner. */
    public void onResults(int pipelineId, Consumer<StepResult> sink) {
        resultSinks.put(pipelineId, sink);
    }

    @Override
    public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
        String refused = registry.register(request);
        if (refused == null) {
            log.accept("worker " + request.getWorkerId() + " registered from " + request.getAddress() + " ("
                    + request.getBackend() + ", " + request.getThreads() + " threads, "
                    + String.format("%.2f GB", request.getMemoryBudgetBytes() / 1e9) + " budget)");
        } else {
            log.accept("worker " + request.getWorkerId() + " refused: " + refused);
        }
        response.onNext(RegisterResponse.newBuilder().setAccepted(refused == null).setHeartbeatIntervalMs(heartbeatMs)
                .setReason(refused == null ? "" : refused).build());
        response.onCompleted();
    }

    @Override
    public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
        boolean known = registry.heartbeat(request);
        response.onNext(HeartbeatResponse.newBuilder()
                .setCommand(known ? WorkerCommand.WORKER_COMMAND_NONE : WorkerCommand.WORKER_COMMAND_REGISTER)
                .setReason(known ? "" : "unknown worker: register again").build());
        response.onCompleted();
    }

    @Override
    public StreamObserver<StepResult> reportResults(StreamObserver<ResultAck> acks) {
        return new StreamObserver<>() {
            @Override
            public void onNext(StepResult result) {
                if (result.getStepId() == 0) {
                    return;   // the stream's greeting (stage.proto): names its pipeline and epoch, no tokens
                }
                Consumer<StepResult> sink = resultSinks.get(result.getPipelineId());
                if (sink == null) {
                    log.accept("result for unknown pipeline " + result.getPipelineId() + " dropped (step " + result.getStepId() + ")");
                    return;
                }
                sink.accept(result);
                synchronized (acks) {
                    acks.onNext(ResultAck.newBuilder().setPipelineId(result.getPipelineId()).setStepId(result.getStepId()).build());
                }
            }

            @Override
            public void onError(Throwable t) {
                log.accept("a last stage's result stream failed: " + t.getMessage());
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
