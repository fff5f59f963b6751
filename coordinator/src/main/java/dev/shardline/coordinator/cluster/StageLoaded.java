package dev.shardline.coordinator.cluster;

/** A stage that finished loading: the KV it holds, its weight bytes, and whether it reused layers it already had. */
public record StageLoaded(String workerId, long kvCapacityTokens, long weightBytes) {
}
