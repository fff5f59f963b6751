package dev.shardline.coordinator.cluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The workers that registered, in registration order, and what the cluster made of them. Registration checks the
 * model fingerprint (a worker with other weights never joins) and refuses a second live worker with an id already
 * in use from another address. Heartbeats are answered from the state here: a worker holding an assignment the
 * cluster no longer gives it is told to release it, a worker that is to leave is told to stop.
 */
public final class WorkerRegistry {
    private final String modelFingerprint;
    private final LongSupplier clock;
    private final long timeoutNanos;
    private final Map<String, RegisteredWorker> workers = new LinkedHashMap<>();

    public WorkerRegistry(String modelFingerprint, long timeoutMillis, LongSupplier clock) {
        this.modelFingerprint = modelFingerprint;
        this.timeoutNanos = timeoutMillis * 1_000_000L;
        this.clock = clock;
    }

    /** Null when accepted, else the reason it was refused. */
    public synchronized String register(WorkerRecord r) {
        if (r.id() == null || r.id().isBlank() || r.address() == null || r.address().isBlank()) {
            return "worker_id and address are required";
        }
        if (!modelFingerprint.isEmpty() && !r.modelFingerprint().equals(modelFingerprint)) {
            return "model fingerprint " + r.modelFingerprint() + " does not match the coordinator's " + modelFingerprint
                    + ": the worker sees a different checkpoint";
        }
        if (r.memoryBudgetBytes() <= 0) {
            return "memory_budget_bytes must be > 0";
        }
        long now = clock.getAsLong();
        RegisteredWorker old = workers.get(r.id());
        if (old != null && !old.lost && !old.record.address().equals(r.address()) && now - old.lastHeardNanos < timeoutNanos) {
            return "worker id " + r.id() + " is already registered from " + old.record.address()
                    + " and alive; give every worker its own --worker-id";
        }
        RegisteredWorker w = new RegisteredWorker(r, now);
        if (old != null && old.pipelineId >= 0) {
            w.pipelineId = -2;    // it was in a pipeline and came back as a new process: that pipeline must fail
        }
        workers.put(r.id(), w);
        return null;
    }

    /** Records a heartbeat; empty when the worker is unknown (it must register again). */
    public synchronized Optional<WorkerCommand> heartbeat(WorkerBeat beat) {
        RegisteredWorker w = workers.get(beat.workerId());
        if (w == null) {
            return Optional.empty();
        }
        w.lastHeardNanos = clock.getAsLong();
        w.lastBeat = beat;
        w.lost = false;
        w.weightLoads = Math.max(w.weightLoads, beat.weightLoads());
        if (w.exit) {
            return Optional.of(WorkerCommand.drain(w.leaving == null ? "leaving the cluster" : w.leaving));
        }
        if (beat.epoch() != 0 && beat.epoch() != w.assignedEpoch) {
            return Optional.of(WorkerCommand.release(beat.epoch(), "the coordinator does not run pipeline "
                    + beat.pipelineId() + " of epoch " + Long.toHexString(beat.epoch()) + " with this worker"));
        }
        return Optional.of(WorkerCommand.NONE);
    }

    /**
     * Marks workers silent for longer than the timeout as lost; returns the ids newly lost. Workers in
     * {@code loading} are spared: a load can starve a JVM's heartbeat thread for seconds, and the open Assign stream
     * tells of a dead worker anyway.
     */
    public synchronized List<String> sweep(java.util.Set<String> loading) {
        long now = clock.getAsLong();
        List<String> newlyLost = new ArrayList<>();
        for (RegisteredWorker w : workers.values()) {
            if (loading.contains(w.record.id())) continue;
            if (!w.lost && now - w.lastHeardNanos > timeoutNanos) {
                w.lost = true;
                newlyLost.add(w.record.id());
            }
        }
        return newlyLost;
    }

    /** Forgets a worker that left (its process stopped after a drain). */
    public synchronized void remove(String id) {
        workers.remove(id);
    }

    /** The worker now belongs to a pipeline (epoch > 0), or to the pool (pipelineId -1, epoch 0). */
    public synchronized void placed(String id, int pipelineId, long epoch) {
        RegisteredWorker w = workers.get(id);
        if (w == null) return;
        w.pipelineId = pipelineId;
        w.assignedEpoch = epoch;
    }

    /** The worker finished loading (or reusing) these layers; its load count comes from its own reports. */
    public synchronized void loaded(String id, HeldAssignment held) {
        RegisteredWorker w = workers.get(id);
        if (w == null) return;
        w.held = held;
    }

    /** An assignment of the worker failed: it rests before it is tried again, and holds nothing known. */
    public synchronized void assignFailed(String id, long restMillis) {
        RegisteredWorker w = workers.get(id);
        if (w == null) return;
        w.held = null;
        w.assignableAtNanos = clock.getAsLong() + restMillis * 1_000_000L;
    }

    /** A link to the worker broke: it is not assignable until it heartbeats again. */
    public synchronized void suspect(String id) {
        RegisteredWorker w = workers.get(id);
        if (w != null) w.suspectSinceNanos = clock.getAsLong();
    }

    /** The worker is to leave the cluster; once its pipeline is drained it is told to stop. */
    public synchronized void leaving(String id, String reason) {
        RegisteredWorker w = workers.get(id);
        if (w != null && w.leaving == null) w.leaving = reason;
    }

    /** From now on its heartbeats are answered with WORKER_COMMAND_DRAIN: finish and stop. */
    public synchronized void exit(String id) {
        RegisteredWorker w = workers.get(id);
        if (w != null) w.exit = true;
    }

    /** A worker whose process came back as a new registration while the cluster had it in a pipeline. */
    public synchronized boolean reRegisteredFromPipeline(String id) {
        RegisteredWorker w = workers.get(id);
        if (w != null && w.pipelineId == -2) {
            w.pipelineId = -1;
            return true;
        }
        return false;
    }

    public synchronized Optional<RegisteredWorker.Snapshot> get(String id) {
        RegisteredWorker w = workers.get(id);
        return w == null ? Optional.empty() : Optional.of(w.snapshot(clock.getAsLong()));
    }

    public synchronized Optional<WorkerRecord> record(String id) {
        RegisteredWorker w = workers.get(id);
        return w == null ? Optional.empty() : Optional.of(w.record);
    }

    /** Every worker, in registration order. */
    public synchronized List<RegisteredWorker.Snapshot> all() {
        long now = clock.getAsLong();
        List<RegisteredWorker.Snapshot> out = new ArrayList<>();
        for (RegisteredWorker w : workers.values()) out.add(w.snapshot(now));
        return out;
    }

    public synchronized int size() {
        return workers.size();
    }
}
