package dev.shardline.operator.coordinator;

/** What the operator asks of a cluster's coordinator (the Admin and Inference status APIs). */
public interface CoordinatorClient extends AutoCloseable {

    /** The cluster's status; throws {@link CoordinatorException} when the coordinator cannot be reached. */
    ClusterView status();

    /** Sets the pipelines the coordinator aims for. */
    void setTargetPipelines(int pipelines);

    /** Drains a worker (and so its pipeline) by name; an unknown worker (already gone) is not an error. */
    void drainWorker(String workerId);

    /**
     * How many workers of this memory budget one pipeline of the coordinator's model needs (it plans, changes
     * nothing). Throws {@link CoordinatorException}, {@link CoordinatorException#refused()} when no number of such
     * workers (up to {@code maxStages}) can hold the model.
     */
    PipelineSize planPipeline(long workerBudgetBytes, int maxStages);

    @Override
    void close();
}
