package dev.shardline.coordinator.desired;

import java.util.List;

/**
 * One pipeline as the desired-cluster function sees it.
 *
 * @param workers        its stages' workers, in stage order
 * @param load           sequences running or queued on it (for choosing which pipeline a scale-down drains)
 * @param empty          no live sequence and nothing in flight (a draining pipeline can be retired)
 * @param drainExpired   draining, and its deadline has passed: what still runs migrates
 * @param drainAsked     an admin asked to drain this pipeline
 * @param broken         why a link of it broke (a stage's stream, a worker's report), or null
 */
public record PipelineView(int id, PipelineState state, List<String> workers, int load, boolean empty,
                           boolean drainExpired, boolean drainAsked, String broken) {

    public PipelineView {
        workers = List.copyOf(workers);
    }
}
