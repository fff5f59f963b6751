package dev.shardline.operator.coordinator;

import dev.shardline.proto.v1.AdminGrpc;
import dev.shardline.proto.v1.DrainRequest;
import dev.shardline.proto.v1.GetClusterStatusRequest;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.InferenceGrpc;
import dev.shardline.proto.v1.PipelineStatus;
import dev.shardline.proto.v1.PlanPipelineRequest;
import dev.shardline.proto.v1.PlanPipelineResponse;
import dev.shardline.proto.v1.PlannedStage;
import dev.shardline.proto.v1.SetTargetPipelinesRequest;
import dev.shardline.proto.v1.StagePlan;
import dev.shardline.proto.v1.WorkerInfo;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;

/** The coordinator over gRPC, with the admin bearer token. Translates proto to {@link ClusterView}, nothing more. */
public final class GrpcCoordinatorClient implements CoordinatorClient {
    private static final long DEADLINE_MS = 5_000;
    private final String target;
    private final ManagedChannel channel;
    private final Metadata auth = new Metadata();

    public GrpcCoordinatorClient(String target, String adminToken) {
        this.target = target;
        this.channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
        auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + adminToken);
    }

    @Override
    public ClusterView status() {
        try {
            return view(InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS)
                    .getClusterStatus(GetClusterStatusRequest.getDefaultInstance()));
        } catch (StatusRuntimeException e) {
            throw new CoordinatorException("the coordinator at " + target + " did not answer GetClusterStatus: " + e.getStatus(), e);
        }
    }

    @Override
    public void setTargetPipelines(int pipelines) {
        try {
            admin().setTargetPipelines(SetTargetPipelinesRequest.newBuilder().setPipelines(pipelines).build());
        } catch (StatusRuntimeException e) {
            throw new CoordinatorException("SetTargetPipelines(" + pipelines + ") at " + target + " failed: " + e.getStatus(), e);
        }
    }

    @Override
    public void drainWorker(String workerId) {
        try {
            admin().drain(DrainRequest.newBuilder().setWorkerId(workerId).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) return;        // already gone
            throw new CoordinatorException("Drain(" + workerId + ") at " + target + " failed: " + e.getStatus(), e);
        }
    }

    @Override
    public PipelineSize planPipeline(long workerBudgetBytes, int maxStages) {
        PlanPipelineResponse r;
        try {
            r = admin().planPipeline(PlanPipelineRequest.newBuilder().setWorkerMemoryBudgetBytes(workerBudgetBytes)
                    .setMaxStages(maxStages).build());
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            String why = code == Status.Code.FAILED_PRECONDITION || code == Status.Code.INVALID_ARGUMENT
                    ? String.valueOf(e.getStatus().getDescription()) : e.getStatus().toString();
            throw new CoordinatorException("PlanPipeline at " + target + ": " + why, e,
                    code == Status.Code.FAILED_PRECONDITION || code == Status.Code.INVALID_ARGUMENT);
        }
        List<PipelineSize.Stage> stages = new ArrayList<>();
        for (PlannedStage s : r.getStagePlansList()) {
            stages.add(new PipelineSize.Stage(s.getStageIndex(), s.getLayerStart(), s.getLayerEnd(), s.getWeightBytes()));
        }
        return new PipelineSize(r.getModelId(), r.getStages(), r.getModelBytes(), stages);
    }

    private AdminGrpc.AdminBlockingStub admin() {
        return AdminGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
                .withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS);
    }

    static ClusterView view(GetClusterStatusResponse r) {
        List<ClusterView.Pipeline> pipelines = new ArrayList<>();
        long tokens = 0;
        for (PipelineStatus p : r.getPipelinesList()) {
            List<ClusterView.Stage> stages = new ArrayList<>();
            for (StagePlan s : p.getStagesList()) {
                stages.add(new ClusterView.Stage(s.getStageIndex(), s.getWorkerId(), s.getLayerStart(), s.getLayerEnd()));
            }
            pipelines.add(new ClusterView.Pipeline(p.getPipelineId(), p.getState().name().replace("PIPELINE_STATE_", ""),
                    p.getRunning(), p.getKvBlocksUsed(), p.getKvBlocksTotal(), List.copyOf(stages)));
            tokens += p.getTokensGenerated() + p.getPrefillRows();
        }
        List<ClusterView.Worker> workers = new ArrayList<>();
        for (WorkerInfo w : r.getWorkersList()) {
            workers.add(new ClusterView.Worker(w.getWorkerId(), w.getState().name().replace("WORKER_STATE_", ""),
                    w.getPipelineId(), w.getLiveSequences()));
        }
        // requests waiting for admission anywhere (queued on a pipeline, or for a pipeline when none can serve)
        int waiting = Math.max(r.getQueueDepth(), r.getWaitingRequests());
        return new ClusterView(List.copyOf(pipelines), List.copyOf(workers), waiting, r.getWaitingTokens(),
                r.getRunningSequences(), r.getBatchBacklog().getTokens(),
                r.hasTokensPerSecondPerPipeline() ? OptionalDouble.of(r.getTokensPerSecondPerPipeline()) : OptionalDouble.empty(),
                r.hasKvUsage() ? OptionalDouble.of(r.getKvUsage()) : OptionalDouble.empty(),
                r.getTargetPipelines(), r.getReady(), tokens);
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
