package dev.shardline.worker.server;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.util.concurrent.TimeUnit;

/** Plaintext channels on the loopback or cluster network, with the worker's inbound message limit. */
final class Channels {
    private Channels() {
    }

    static ManagedChannel open(String hostPort) {
        return NettyChannelBuilder.forTarget(hostPort)
                .usePlaintext()
                .maxInboundMessageSize(AssignmentPlan.INBOUND_LIMIT)
                .build();
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
