package dev.shardline.coordinator.generation;

/**
 * Wall-clock timings of one request, measured on the coordinator from its arrival: waiting before its first
 * micro-batch, until its first token, until its end.
 */
public record Timings(double queueMs, double timeToFirstTokenMs, double totalMs) {
}
