package dev.shardline.operator.desired;

/** One pipeline's worth of worker pods: index (in pod names) and the template hash they run. */
public record WorkerGroup(int index, String templateHash) {
}
