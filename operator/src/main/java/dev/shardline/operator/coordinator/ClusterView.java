package dev.shardline.operator.coordinator;

import java.util.List;
import java.util.OptionalDouble;

/**
 * The coordinator's status as the operator needs it (no proto type past the client).
 *
 * @param reportedTokensPerSecondPerPipeline the coordinator's measured tokens/s per working pipeline over the last
 *                                           minute (ADR 0010); empty when the coordinator does not report it
 * @param reportedKvUsage                    the coordinator's KV usage of the serving pipelines; empty when it does not
 *                                           report it (then {@link #kvUsage()} computes it from the pipelines)
 * @param tokensProcessed                    prompt + generated tokens all pipelines processed since they formed (for
 *                                           the operator's own throughput estimate, used only when the coordinator
 *                                           does not report one)
 */
public record ClusterView(List<Pipeline> pipelines, List<Worker> workers, int waitingRequests, long waitingTokens,
                          int runningSequences, long batchBacklogTokens, OptionalDouble reportedTokensPerSecondPerPipeline,
                          OptionalDouble reportedKvUsage, int targetPipelines, boolean ready, long tokensProcessed) {

    /** One pipeline and its stages. */
    public record Pipeline(int id, String state, int running, int kvBlocksUsed, int kvBlocksTotal, List<Stage> stages) {
        public boolean serving() {
            return state.equals("SERVING");
        }

        /** Forming, serving or draining: it holds its workers. */
        public boolean holdsWorkers() {
            return state.equals("FORMING") || state.equals("SERVING") || state.equals("DRAINING");
        }
    }

    /** One stage: the worker that runs it and its layers [start, end). */
    public record Stage(int index, String workerId, int layerStart, int layerEnd) {
    }

    /** A registered worker. */
    public record Worker(String id, String state, int pipelineId, int liveSequences) {
    }

    public int serving() {
        return (int) pipelines.stream().filter(Pipeline::serving).count();
    }

    public int draining() {
        return (int) pipelines.stream().filter(p -> p.state().equals("DRAINING")).count();
    }

    /** Fraction of the serving pipelines' KV blocks in use: the coordinator's figure, else computed from its pipelines. */
    public double kvUsage() {
        if (reportedKvUsage.isPresent()) return reportedKvUsage.getAsDouble();
        long used = 0, total = 0;
        for (Pipeline p : pipelines) {
            if (p.serving()) {
                used += p.kvBlocksUsed();
                total += p.kvBlocksTotal();
            }
        }
        return total == 0 ? 0 : (double) used / total;
    }
}
