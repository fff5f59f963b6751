package dev.shardline.coordinator.grpc.stage;

import dev.shardline.coordinator.cluster.LinkListener;
import dev.shardline.coordinator.cluster.Stage0Link;
import dev.shardline.coordinator.cluster.StageAssignment;
import dev.shardline.coordinator.cluster.StageLoaded;
import dev.shardline.coordinator.cluster.WorkerRecord;
import dev.shardline.coordinator.cluster.WorkerTransport;
import dev.shardline.proto.stage.v1.LoadProgress;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageReady;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Reaches workers over gRPC: one channel per worker address (kept while the coordinator runs), Assign streams
 * read on a virtual thread each (a load can take minutes), Forward streams into stage 0.
 */
public final class GrpcWorkerTransport implements WorkerTransport {
    private final int maxMessageBytes;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    public GrpcWorkerTransport(int maxMessageBytes) {
        this.maxMessageBytes = maxMessageBytes;
    }

    private ManagedChannel channel(String address) {
        return channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a).usePlaintext().directExecutor()
                .maxInboundMessageSize(maxMessageBytes + (1 << 20)).build());
    }

    @Override
    public CompletableFuture<StageLoaded> assign(WorkerRecord worker, StageAssignment a, Consumer<String> progress) {
        CompletableFuture<StageLoaded> done = new CompletableFuture<>();
        Thread.ofVirtual().name("assign-" + worker.id()).start(() -> {
            try {
                Iterator<LoadProgress> it = StageGrpc.newBlockingStub(channel(worker.address()))
                        .withDeadlineAfter(30, TimeUnit.MINUTES).assign(StageProtos.assignment(a));
                long lastLog = 0;
                while (it.hasNext()) {
                    LoadProgress p = it.next();
                    if (p.hasReady()) {
                        StageReady r = p.getReady();
                        done.complete(new StageLoaded(worker.id(), r.getKvCapacityTokens(), r.getWeightBytes()));
                        return;
                    }
                    if (System.nanoTime() - lastLog > 2_000_000_000L) {
                        lastLog = System.nanoTime();
                        progress.accept(String.format("loading %d/%d layers, %.2f of %.2f GB",
                                p.getProgress().getLayersDone(), p.getProgress().getLayersTotal(),
                                p.getProgress().getBytesMapped() / 1e9, p.getProgress().getBytesTotal() / 1e9));
                    }
                }
                done.completeExceptionally(new IllegalStateException("the Assign stream ended without StageReady"));
            } catch (StatusRuntimeException e) {
                done.completeExceptionally(new IllegalStateException(e.getStatus().getCode() + ": "
                        + e.getStatus().getDescription(), e));
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    @Override
    public Stage0Link openStage0(WorkerRecord worker, int pipelineId, long epoch, LinkListener listener) {
        return new GrpcStage0Link(channel(worker.address()), worker.id() + " at " + worker.address(), listener);
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
    }
}
