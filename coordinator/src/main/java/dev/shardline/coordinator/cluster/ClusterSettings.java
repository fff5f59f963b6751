package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.desired.PlanInputs;

import java.nio.file.Path;

/**
 * How the cluster runs, from the coordinator's config.
 *
 * @param expectedWorkers   the first pipelines form once this many workers are ready: registered, not lost, not
 *                          resting after a failed assignment, not leaving (or once startupWaitMillis passed),
 *                          so that the first plan sees them all; later pipelines form whenever the pool can
 * @param targetPipelines   pipelines to aim for at start (0 = as many as the workers allow)
 * @param maxKvBlocks       cap on KV blocks per pipeline
 * @param queueTimeoutMillis how long a request waits for a pipeline that can serve it before it fails
 * @param drainTimeoutMillis default time running sequences get to finish on a draining pipeline before they migrate
 * @param canaryIntervalMillis an idle serving pipeline sends a one-token canary this often
 * @param readinessWindowMillis the cluster is ready while a pipeline completed a micro-batch this recently
 * @param assignRestMillis  a worker whose assignment failed rests this long before it is tried again
 * @param maxWaiting        requests queued (not yet admitted) at most; more are refused as overloaded
 */
public record ClusterSettings(PlanInputs plan, Path modelDir, String modelFingerprint,
                              int sampleVocabLimit, int blockSize, int tokenBudget, int maxRunning, int maxKvBlocks,
                              ActivationFormat activations, int maxMessageBytes, int expectedWorkers,
                              long startupWaitMillis, int targetPipelines, long queueTimeoutMillis,
                              long drainTimeoutMillis, long canaryIntervalMillis, long readinessWindowMillis,
                              long assignRestMillis, int maxWaiting) {
}
