package dev.shardline.coordinator.cluster;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * How the cluster reaches its workers (gRPC in production, in memory in tests). Nothing here blocks the caller.
 */
public interface WorkerTransport extends AutoCloseable {

    /** Gives a worker its layers; completes when the stage is ready, or exceptionally with the reason it failed. */
    CompletableFuture<StageLoaded> assign(WorkerRecord worker, StageAssignment assignment, Consumer<String> progress);

    /** Opens the stream into a pipeline's first stage. */
    Stage0Link openStage0(WorkerRecord worker, int pipelineId, long epoch, LinkListener listener);

    @Override
    void close();
}
