package dev.shardline.coordinator.schedule;

/** Where a live sequence is: queued (new or preempted, no KV blocks) or admitted (holding KV blocks). */
public enum SequenceStatus {
    WAITING, RUNNING
}
