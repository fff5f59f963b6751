package dev.shardline.coordinator.desired;

/** Life cycle of a pipeline: forming -> serving -> draining -> (retired), or -> failed from any of them. */
public enum PipelineState {
    /** Its stages are being assigned and loaded. */
    FORMING,
    /** Serving sequences. */
    SERVING,
    /** Takes no new sequences; running ones finish or migrate before its deadline, then it is retired. */
    DRAINING,
    /** A stage was lost or failed to load; its sequences migrated, its surviving workers went back to the pool. */
    FAILED;

    /** Whether its workers belong to it (not to the pool). */
    public boolean holdsWorkers() {
        return this != FAILED;
    }
}
