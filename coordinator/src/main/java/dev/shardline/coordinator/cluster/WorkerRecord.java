package dev.shardline.coordinator.cluster;

/**
 * What a worker told the coordinator when it registered.
 *
 * @param held        the assignment it still holds (weights loaded), e.g. after the coordinator restarted; or null
 * @param weightLoads how many times its process loaded weights since it started
 */
public record WorkerRecord(String id, String address, String backend, int threads, long memoryBudgetBytes,
                           String modelFingerprint, double relativeSpeed, HeldAssignment held, long weightLoads) {
}
