package dev.shardline.coordinator.cluster;

/**
 * One heartbeat of a worker.
 *
 * @param epoch          plan epoch of the assignment it holds; 0 when none
 * @param linkError      non-empty when its downstream stream broke (sent at once, not on the interval)
 * @param drainRequested its process was asked to stop: it asks to be drained
 */
public record WorkerBeat(String workerId, ReportedState state, int pipelineId, long epoch, int kvBlocksUsed,
                         int kvBlocksTotal, int liveSequences, String error, String linkError, boolean drainRequested,
                         long weightLoads, double busyFraction, long stepsCompleted, long activationBytesSent) {
}
