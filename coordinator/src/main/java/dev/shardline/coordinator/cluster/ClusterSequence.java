package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.Request;
import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.model.engine.FinishReason;

/**
 * A request as the cluster carries it: what to run, and where its tokens go. Its owner (the generation service)
 * keeps the journal (the tokens generated so far), so the sequence can resume on another pipeline with no token
 * lost or repeated. The cluster calls these methods on its own threads, sometimes under a pipeline's lock: they
 * must be quick and must never block.
 */
public interface ClusterSequence {

    /** Unique per coordinator, increasing with arrival (the rank among equal priorities). */
    long key();

    /** Prompt, max tokens, stop ids and priority; {@link Request#generated()} is ignored (see {@link #generated}). */
    Request request();

    SamplerSpec sampler();

    /** The tokens generated so far: a resumed sequence prefills prompt + these. */
    int[] generated();

    /** Whether its client went away or its deadline passed: it is not placed again. */
    boolean cancelled();

    /** The sequence's first micro-batch on {@code pipelineId} went out. */
    void onScheduled(int pipelineId);

    /**
     * A token was generated (append it to the journal). {@code rowsBefore} is how many rows this pipeline computed
     * for the sequence since its previous token: 1 for a decode step; for the first token on a pipeline, the prompt
     * plus every token generated before (what a migrated sequence re-prefilled). Returns true when the token
     * completes a stop string, or the consumer cannot keep up: the sequence then ends (STOP).
     */
    boolean onToken(SampledTokenResult token, int rowsBefore);

    /** The sequence ended: stop, length, or cancelled. Called once. */
    void onFinished(FinishReason reason);

    /** The sequence cannot be served. Called once. */
    void onFailed(Failure kind, String reason);

    /** Why a sequence could not be served. */
    enum Failure {
        /** No pipeline could take it within the queue timeout: the cluster lacks capacity now, retry later. */
        UNAVAILABLE,
        /** A stage could not run a micro-batch it was in (a bad request that slipped through, or a bug). */
        STEP_FAILED
    }

    /** Its KV blocks were taken back to make room (it will be recomputed); for metrics. */
    default void onPreempted() {
    }

    /** It leaves {@code pipelineId} to resume elsewhere. */
    void onMigrating(int pipelineId, MigrationCause cause);

    /** Why a sequence moves. */
    enum MigrationCause {
        /** Its pipeline lost a worker. */
        FAILURE,
        /** Its pipeline drained and the deadline passed, or it waited there when the drain began. */
        DRAIN
    }
}
