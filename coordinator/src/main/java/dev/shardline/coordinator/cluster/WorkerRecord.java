package dev.shardline.coordinator.cluster;

/**
 * What a worker told the coordinator when it registered.
 *
 * @param held        the assignment it still holds (weights loaded), e.g. after the coordinator restarted; or null
 * @param weightLoads how many times its process loaded weights since it started
 * @param kvBytesPerElement bytes of one cached key or value element on it (2 for a bf16 cache, 4 for f32)
 */
public record WorkerRecord(String id, String address, String backend, int threads, long memoryBudgetBytes,
                           String modelFingerprint, double relativeSpeed, HeldAssignment held, long weightLoads,
                           int kvBytesPerElement) {

    /** A worker with an f32 KV cache. */
    public WorkerRecord(String id, String address, String backend, int threads, long memoryBudgetBytes,
                        String modelFingerprint, double relativeSpeed, HeldAssignment held, long weightLoads) {
        this(id, address, backend, threads, memoryBudgetBytes, modelFingerprint, relativeSpeed, held, weightLoads,
                Float.BYTES);
    }
}
