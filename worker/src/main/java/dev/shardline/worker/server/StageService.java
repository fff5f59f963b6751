package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.FreeRequest;
import dev.shardline.proto.stage.v1.FreeResponse;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.LoadProgress;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageMessage;
import dev.shardline.proto.stage.v1.StageReady;
import dev.shardline.proto.stage.v1.StageStatus;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

/** The worker's {@code shardline.stage.v1.Stage} service: gRPC in and out, the work done by {@link StageRuntime}. */
final class StageService extends StageGrpc.StageImplBase {
    private volatile StageRuntime runtime;   // set once the server's port (and so the worker id) is known

    void attach(StageRuntime runtime) {
        this.runtime = runtime;
    }

    private StageRuntime runtime() {
        StageRuntime r = runtime;
        if (r == null) {
            throw Status.UNAVAILABLE.withDescription("the worker is starting").asRuntimeException();
        }
        return r;
    }

    @Override
    public void assign(LayerAssignment request, StreamObserver<LoadProgress> out) {
        try {
            StageReady ready = runtime().assign(request, p -> {
                try {
                    out.onNext(LoadProgress.newBuilder().setProgress(p).build());
                } catch (StatusRuntimeException cancelled) {
                    // the caller went away; loading goes on, the stage becomes ready anyway
                }
            });
            out.onNext(LoadProgress.newBuilder().setReady(ready).build());
            out.onCompleted();
        } catch (AssignException e) {
            out.onError(e.status().asRuntimeException());
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.onError(Status.CANCELLED.withDescription("interrupted while loading").asRuntimeException());
        }
    }

    @Override
    public StreamObserver<StageMessage> forward(StreamObserver<StageAck> acks) {
        try {
            return runtime().openStream(acks);
        } catch (StatusRuntimeException e) {
            acks.onError(e);
            return new StreamObserver<>() {
                @Override
                public void onNext(StageMessage value) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
    }

    @Override
    public void freeSequences(FreeRequest request, StreamObserver<FreeResponse> out) {
        try {
            out.onNext(FreeResponse.newBuilder().setFreed(runtime().free(request)).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public void getStageStatus(StageStatusRequest request, StreamObserver<StageStatus> out) {
        try {
            out.onNext(runtime().status());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }
}
