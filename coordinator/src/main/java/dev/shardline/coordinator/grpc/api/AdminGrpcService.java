package dev.shardline.coordinator.grpc.api;

import dev.shardline.coordinator.cluster.ClusterReconciler;
import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.coordinator.plan.PipelineSizer;
import dev.shardline.coordinator.plan.PlanException;
import dev.shardline.coordinator.plan.StagePlan;
import dev.shardline.proto.v1.AdminGrpc;
import dev.shardline.proto.v1.DrainRequest;
import dev.shardline.proto.v1.DrainResponse;
import dev.shardline.proto.v1.PlanPipelineRequest;
import dev.shardline.proto.v1.PlanPipelineResponse;
import dev.shardline.proto.v1.PlannedStage;
import dev.shardline.proto.v1.SetTargetPipelinesRequest;
import dev.shardline.proto.v1.SetTargetPipelinesResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code shardline.v1.Admin}: scaling, draining and pipeline sizing, translated to the cluster's and the planner's
 * calls (guarded by {@link AdminAuth}).
 */
public final class AdminGrpcService extends AdminGrpc.AdminImplBase {
    private final ClusterReconciler cluster;
    private final PipelineSizer sizer;

    public AdminGrpcService(ClusterReconciler cluster, PipelineSizer sizer) {
        this.cluster = cluster;
        this.sizer = sizer;
    }

    @Override
    public void planPipeline(PlanPipelineRequest request, StreamObserver<PlanPipelineResponse> response) {
        if (request.getWorkerMemoryBudgetBytes() <= 0) {
            response.onError(GrpcErrors.invalid("worker_memory_budget_bytes", "must be > 0, got "
                    + request.getWorkerMemoryBudgetBytes()));
            return;
        }
        if (request.getMaxStages() < 0) {
            response.onError(GrpcErrors.invalid("max_stages", "must be >= 0, got " + request.getMaxStages()));
            return;
        }
        PipelineSizer.Sized sized;
        try {
            sized = sizer.size(request.getWorkerMemoryBudgetBytes(), request.getMaxStages());
        } catch (PlanException e) {
            response.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        PlanPipelineResponse.Builder b = PlanPipelineResponse.newBuilder().setModelId(sized.modelId())
                .setStages(sized.pipeline().stageCount()).setModelBytes(sized.modelBytes());
        int i = 0;
        for (StagePlan s : sized.pipeline().stages()) {
            b.addStagePlans(PlannedStage.newBuilder().setStageIndex(i++).setLayerStart(s.range().start())
                    .setLayerEnd(s.range().end()).setWeightBytes(s.weightBytes()).setKvCapacityTokens(s.kvCapacityTokens()));
        }
        response.onNext(b.build());
        response.onCompleted();
    }

    @Override
    public void setTargetPipelines(SetTargetPipelinesRequest request, StreamObserver<SetTargetPipelinesResponse> response) {
        if (request.getPipelines() < 0) {
            response.onError(GrpcErrors.invalid("pipelines", "must be >= 0, got " + request.getPipelines()));
            return;
        }
        await(cluster.setTarget(request.getPipelines()), response, s -> SetTargetPipelinesResponse.newBuilder()
                .setEpoch(s.epoch()).setServing(count(s, PipelineState.SERVING))
                .setForming(count(s, PipelineState.FORMING)).setDraining(count(s, PipelineState.DRAINING)).build());
    }

    @Override
    public void drain(DrainRequest request, StreamObserver<DrainResponse> response) {
        long deadline = Math.max(0, request.getDeadlineMs());
        CompletableFuture<Integer> f = switch (request.getTargetCase()) {
            case WORKER_ID -> cluster.drainWorker(request.getWorkerId(), deadline)
                    .thenApply(p -> p);
            case PIPELINE_ID -> cluster.drainPipeline(request.getPipelineId(), deadline)
                    .thenApply(n -> request.getPipelineId());
            case TARGET_NOT_SET -> null;
        };
        if (f == null) {
            response.onError(GrpcErrors.invalid("target", "set worker_id or pipeline_id"));
            return;
        }
        await(f, response, p -> {
            int sequences = cluster.status().pipelines().stream().filter(x -> x.id() == p && x.load() != null)
                    .mapToInt(x -> x.load().running() + x.load().waiting()).sum();
            return DrainResponse.newBuilder().setPipelineId(p).setSequences(sequences).build();
        });
    }

    private static int count(ClusterStatus s, PipelineState state) {
        return (int) s.pipelines().stream().filter(p -> p.state() == state).count();
    }

    private static <T, R> void await(CompletableFuture<T> f, StreamObserver<R> response,
                                     java.util.function.Function<T, R> map) {
        try {
            T value = f.get(30, TimeUnit.SECONDS);
            response.onNext(map.apply(value));
            response.onCompleted();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            response.onError((c instanceof IllegalArgumentException ? Status.NOT_FOUND : Status.INTERNAL)
                    .withDescription(c.getMessage()).asRuntimeException());
        } catch (TimeoutException e) {
            response.onError(Status.DEADLINE_EXCEEDED.withDescription("the cluster did not answer within 30 s")
                    .asRuntimeException());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            response.onError(Status.CANCELLED.withDescription("interrupted").asRuntimeException());
        }
    }
}
