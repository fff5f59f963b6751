package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.WorkerState;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;

/**
 * The standard gRPC health service on the stage port, answered from the worker's own state: SERVING while it holds
 * an assignment with its weights loaded and serves its stage (READY), NOT_SERVING while it starts, is in the pool,
 * loads, drains or failed. The service names "" and {@code shardline.stage.v1.Stage} are known; Kubernetes' gRPC
 * readiness probe asks for "". (Check only; Watch is not offered.)
 */
final class StageHealth extends HealthGrpc.HealthImplBase {
    private volatile StageRuntime runtime;

    void attach(StageRuntime runtime) {
        this.runtime = runtime;
    }

    static ServingStatus status(WorkerState state) {
        return state == WorkerState.WORKER_STATE_READY ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    }

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> response) {
        String service = request.getService();
        if (!service.isEmpty() && !service.equals(StageGrpc.SERVICE_NAME)) {
            response.onError(Status.NOT_FOUND.withDescription("unknown service \"" + service + "\"; this worker knows \"\" and "
                    + StageGrpc.SERVICE_NAME).asRuntimeException());
            return;
        }
        StageRuntime r = runtime;
        response.onNext(HealthCheckResponse.newBuilder()
                .setStatus(r == null ? ServingStatus.NOT_SERVING : status(r.state())).build());
        response.onCompleted();
    }
}
