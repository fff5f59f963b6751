package dev.shardline.coordinator.desired;

import dev.shardline.coordinator.plan.PipelinePlan;

/** One step from the cluster as it is towards the cluster as it should be. The reconciler carries them out. */
public sealed interface Action {

    /** A pipeline lost a worker: its sequences migrate, its surviving workers return to the pool. */
    record Fail(int pipelineId, String reason) implements Action {
    }

    /** A serving pipeline stops taking sequences; running ones finish (or migrate at the deadline). */
    record Drain(int pipelineId, String reason) implements Action {
    }

    /** A draining pipeline's deadline passed: what still runs on it migrates to other pipelines. */
    record Evacuate(int pipelineId) implements Action {
    }

    /** A drained pipeline is empty: its workers are released (back to the pool, or out of the cluster if leaving). */
    record Retire(int pipelineId) implements Action {
    }

    /**
     * A new pipeline from pool workers. {@code plan.index()} is meaningless here: the reconciler gives it an id.
     *
     * @param reuse the workers already hold exactly these layers (e.g. after a coordinator restart): no reload
     */
    record Form(PipelinePlan plan, boolean reuse) implements Action {
    }
}
