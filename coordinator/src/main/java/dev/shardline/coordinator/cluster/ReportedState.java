package dev.shardline.coordinator.cluster;

/** A worker's state as it reports it in heartbeats. */
public enum ReportedState {
    IDLE, LOADING, READY, DRAINING, FAILED, UNKNOWN
}
