package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.StageGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Plaintext channels on the loopback or cluster network, with the worker's inbound message limit. Their callbacks
 * (acks and credits, a few lines each) run on the transport thread: a micro-batch's hop costs no extra thread
 * hand-off.
 */
final class Channels {
    private Channels() {
    }

    static ManagedChannel open(String hostPort) {
        return NettyChannelBuilder.forTarget(hostPort)
                .usePlaintext()
                .maxInboundMessageSize(AssignmentPlan.INBOUND_LIMIT)
                .directExecutor()
                .build();
    }

    /**
     * The worker server's executor choice: the Forward stream's handlers only assemble chunks and queue the
     * micro-batch for the compute thread, so they run on the transport thread (one hand-off less per hop); every
     * other call (Assign loads weights for minutes) keeps gRPC's default executor.
     */
    static ServerCallExecutorSupplier activationsOnTransportThread() {
        Executor direct = Runnable::run;
        return new ServerCallExecutorSupplier() {
            @Override
            public <ReqT, RespT> Executor getExecutor(io.grpc.ServerCall<ReqT, RespT> call, io.grpc.Metadata headers) {
                return call.getMethodDescriptor().getFullMethodName().equals(StageGrpc.getForwardMethod().getFullMethodName())
                        ? direct : null;
            }
        };
    }

    static void close(ManagedChannel channel) {
        if (channel == null) return;
        channel.shutdown();
        try {
            if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
