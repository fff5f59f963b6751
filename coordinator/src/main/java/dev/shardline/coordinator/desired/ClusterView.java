package dev.shardline.coordinator.desired;

import java.util.List;

/**
 * Everything the desired-cluster function decides from: the registered workers (in registration order), the
 * pipelines that exist, the pipeline count to aim for (0 = as many as the workers allow) and whether new pipelines
 * may form yet (at start the coordinator waits for its expected workers, so that the first plan sees them all).
 */
public record ClusterView(List<WorkerView> workers, List<PipelineView> pipelines, int targetPipelines,
                          boolean mayForm) {

    public ClusterView {
        workers = List.copyOf(workers);
        pipelines = List.copyOf(pipelines);
    }
}
