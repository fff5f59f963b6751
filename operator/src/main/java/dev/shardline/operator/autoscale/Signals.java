package dev.shardline.operator.autoscale;

/**
 * One sample of the work the cluster has, read from the coordinator's status (ADR 0010).
 *
 * @param batchBacklogTokens         Kafka batch tokens still to process (whole consumer group)
 * @param waitingRequests            requests waiting for admission (queued on a pipeline, or for one when none serves)
 * @param waitingTokens              their prompt + max tokens
 * @param runningSequences           sequences being generated
 * @param kvUsage                    fraction of the serving pipelines' KV blocks in use
 * @param tokensPerSecondPerPipeline measured throughput of one serving pipeline (0 when unknown)
 * @param servingPipelines           pipelines serving now
 * @param drainingPipelines          pipelines draining now
 */
public record Signals(long batchBacklogTokens, int waitingRequests, long waitingTokens, int runningSequences,
                      double kvUsage, double tokensPerSecondPerPipeline, int servingPipelines, int drainingPipelines) {

    /** The backlog in tokens: batch work plus what waits in the coordinator's queue. */
    public long demandTokens() {
        return batchBacklogTokens + waitingTokens;
    }

    /** Nothing waits and nothing runs. */
    public boolean idle() {
        return demandTokens() == 0 && waitingRequests == 0 && runningSequences == 0;
    }
}
