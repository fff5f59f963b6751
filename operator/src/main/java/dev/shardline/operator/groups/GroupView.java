package dev.shardline.operator.groups;

import java.util.List;

/**
 * One worker group as observed: its pods (Kubernetes) and what the coordinator says of its workers.
 *
 * @param index          the group's number (in pod names)
 * @param templateHash   the worker template its pods run
 * @param workerIds      its pods' names (= worker ids), by stage
 * @param podsPending    pods not scheduled (e.g. no GPU free)
 * @param podsFinished   pods that exited 0 (drained) or failed for good
 * @param serving        every worker of the group is in a SERVING pipeline
 * @param inPipeline     some worker of the group is in a pipeline (forming, serving or draining)
 * @param liveSequences  sequences its workers hold (from their heartbeats)
 * @param draining       the operator asked the coordinator to drain it (annotation on its pods)
 */
public record GroupView(int index, String templateHash, List<String> workerIds, int podsPending, int podsFinished,
                        boolean serving, boolean inPipeline, int liveSequences, boolean draining) {
}
