package dev.shardline.coordinator.cluster;

/**
 * A worker as the coordinator knows it: what it offered at registration, when it was last heard from, and what the
 * cluster made of it (its pipeline, the layers it holds, whether it is leaving). Mutated only under the
 * {@link WorkerRegistry}'s lock.
 */
public final class RegisteredWorker {
    WorkerRecord record;
    long lastHeardNanos;
    WorkerBeat lastBeat;
    boolean lost;
    int pipelineId = -1;         // the pipeline it serves in, -1 = pool
    long assignedEpoch;          // that pipeline's epoch, 0 = none
    HeldAssignment held;         // layers it holds loaded (kept while in the pool)
    long assignableAtNanos;      // after a failed assignment it rests until then
    long suspectSinceNanos;      // a link to it broke then; assignable again once it heartbeats after
    String leaving;              // why it is to leave the cluster, or null
    boolean exit;                // its process is told to stop (WORKER_COMMAND_DRAIN)
    long weightLoads;

    RegisteredWorker(WorkerRecord record, long now) {
        this.record = record;
        this.lastHeardNanos = now;
        this.held = record.held();
        this.weightLoads = record.weightLoads();
    }

    /** An immutable copy for status pages and decisions. */
    Snapshot snapshot(long now) {
        boolean cleared = suspectSinceNanos == 0 || lastHeardNanos > suspectSinceNanos;
        return new Snapshot(record, (now - lastHeardNanos) / 1_000_000, lastBeat, lost, pipelineId, held,
                now >= assignableAtNanos && cleared, leaving, weightLoads);
    }

    /** A worker at one moment. */
    public record Snapshot(WorkerRecord record, long lastHeardAgeMillis, WorkerBeat lastBeat, boolean lost,
                           int pipelineId, HeldAssignment held, boolean assignable, String leaving, long weightLoads) {
        public String id() {
            return record.id();
        }
    }
}
