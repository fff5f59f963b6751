package dev.shardline.cli.client;

import dev.shardline.proto.v1.AdminGrpc;
import dev.shardline.proto.v1.DrainRequest;
import dev.shardline.proto.v1.DrainResponse;
import dev.shardline.proto.v1.PlanPipelineRequest;
import dev.shardline.proto.v1.PlanPipelineResponse;
import dev.shardline.proto.v1.SetTargetPipelinesRequest;
import dev.shardline.proto.v1.SetTargetPipelinesResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;

import java.util.concurrent.TimeUnit;

/** A blocking client of {@code shardline.v1.Admin}, sending the admin token when one is given. */
public final class AdminClient implements AutoCloseable {
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final ManagedChannel channel;
    private final AdminGrpc.AdminBlockingStub stub;

    /** {@code token}: the coordinator's admin token, or null/"" when it has none. */
    public AdminClient(String address, String token) {
        this.channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
        AdminGrpc.AdminBlockingStub s = AdminGrpc.newBlockingStub(channel);
        if (token != null && !token.isEmpty()) {
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, "Bearer " + token);
            s = s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        this.stub = s;
    }

    public SetTargetPipelinesResponse scale(int pipelines) {
        return stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                .setTargetPipelines(SetTargetPipelinesRequest.newBuilder().setPipelines(pipelines).build());
    }

    /** How many workers of this budget one pipeline needs (plans only; 0 max stages = no limit). */
    public PlanPipelineResponse planPipeline(long workerBudgetBytes, int maxStages) {
        return stub.withDeadlineAfter(60, TimeUnit.SECONDS).planPipeline(PlanPipelineRequest.newBuilder()
                .setWorkerMemoryBudgetBytes(workerBudgetBytes).setMaxStages(maxStages).build());
    }

    public DrainResponse drainWorker(String workerId, int deadlineMs) {
        return stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                .drain(DrainRequest.newBuilder().setWorkerId(workerId).setDeadlineMs(deadlineMs).build());
    }

    public DrainResponse drainPipeline(int pipelineId, int deadlineMs) {
        return stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                .drain(DrainRequest.newBuilder().setPipelineId(pipelineId).setDeadlineMs(deadlineMs).build());
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
