package dev.shardline.coordinator.grpc.stage;

import dev.shardline.coordinator.cluster.ClusterReconciler;
import dev.shardline.coordinator.cluster.WorkerCommand;
import dev.shardline.proto.stage.v1.ControlPlaneGrpc;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.HeartbeatResponse;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.RegisterResponse;
import dev.shardline.proto.stage.v1.ResultAck;
import dev.shardline.proto.stage.v1.StepResult;
import io.grpc.stub.StreamObserver;

import java.util.function.Consumer;

/**
 * The coordinator's side of the internal control plane: workers register and heartbeat here, and the last stage of
 * each pipeline streams its sampled tokens back here (the ring closes at the coordinator). It only translates; the
 * cluster decides.
 */
public final class ControlPlaneService extends ControlPlaneGrpc.ControlPlaneImplBase {
    private final ClusterReconciler cluster;
    private final int heartbeatMs;
    private final Consumer<String> log;

    public ControlPlaneService(ClusterReconciler cluster, int heartbeatMs, Consumer<String> log) {
        this.cluster = cluster;
        this.heartbeatMs = heartbeatMs;
        this.log = log;
    }

    @Override
    public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
        String refused = cluster.register(StageProtos.worker(request));
        response.onNext(RegisterResponse.newBuilder().setAccepted(refused == null).setHeartbeatIntervalMs(heartbeatMs)
                .setReason(refused == null ? "" : refused).build());
        response.onCompleted();
    }

    @Override
    public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
        WorkerCommand c = cluster.heartbeat(StageProtos.beat(request))
                .orElse(WorkerCommand.register("unknown worker: register again"));
        response.onNext(StageProtos.command(c));
        response.onCompleted();
    }

    @Override
    public StreamObserver<StepResult> reportResults(StreamObserver<ResultAck> acks) {
        return new StreamObserver<>() {
            private int pipelineId = -1;
            private long epoch;

            @Override
            public void onNext(StepResult result) {
                if (result.getStepId() == 0) {                  // the greeting: whose stream this is
                    pipelineId = result.getPipelineId();
                    epoch = result.getPlanEpoch();
                } else {
                    cluster.onStepResult(StageProtos.outcome(result));
                }
                synchronized (acks) {
                    acks.onNext(ResultAck.newBuilder().setPipelineId(result.getPipelineId()).setStepId(result.getStepId()).build());
                }
            }

            @Override
            public void onError(Throwable t) {
                if (pipelineId >= 0) {
                    cluster.onResultStreamBroken(pipelineId, epoch, "the last stage's result stream broke: " + t.getMessage());
                } else {
                    log.accept("a last stage's result stream failed before it named its pipeline: " + t.getMessage());
                }
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
