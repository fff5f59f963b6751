package dev.shardline.coordinator.cluster;

import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.RegisterRequest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The workers that registered, in registration order. Registration checks the model fingerprint against the
 * coordinator's so a worker with other weights never joins a pipeline.
 */
public final class WorkerRegistry {
    private final String modelFingerprint;
    private final Map<String, RegisteredWorker> workers = new LinkedHashMap<>();
    private final List<Consumer<RegisteredWorker>> joinListeners = new ArrayList<>();

    public WorkerRegistry(String modelFingerprint) {
        this.modelFingerprint = modelFingerprint;
    }

    /** Null when accepted, else the reason it was refused. */
    public synchronized String register(RegisterRequest r) {
        if (r.getWorkerId().isBlank() || r.getAddress().isBlank()) {
            return "worker_id and address are required";
        }
        if (!modelFingerprint.isEmpty() && !r.getModelFingerprint().equals(modelFingerprint)) {
            return "model fingerprint " + r.getModelFingerprint() + " does not match the coordinator's " + modelFingerprint
                    + ": the worker sees a different checkpoint";
        }
        if (r.getMemoryBudgetBytes() <= 0) {
            return "memory_budget_bytes must be > 0";
        }
        RegisteredWorker w = new RegisteredWorker(r);
        workers.put(r.getWorkerId(), w);
        notifyAll();
        joinListeners.forEach(l -> l.accept(w));
        return null;
    }

    public synchronized boolean heartbeat(HeartbeatRequest hb) {
        RegisteredWorker w = workers.get(hb.getWorkerId());
        if (w == null) {
            return false;
        }
        w.heard(hb);
        return true;
    }

    public synchronized void onJoin(Consumer<RegisteredWorker> listener) {
        joinListeners.add(listener);
    }

    public synchronized List<RegisteredWorker> all() {
        return List.copyOf(workers.values());
    }

    public synchronized Optional<RegisteredWorker> get(String id) {
        return Optional.ofNullable(workers.get(id));
    }

    /** Waits until at least {@code n} workers registered, or throws after the timeout. */
    public synchronized List<RegisteredWorker> awaitWorkers(int n, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (workers.size() < n) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new IllegalStateException("only " + workers.size() + " of " + n + " workers registered within "
                        + timeoutMillis / 1000 + " s");
            }
            wait(left);
        }
        return List.copyOf(workers.values()).subList(0, n);
    }

    /** Marks workers silent for longer than the timeout as lost and returns the newly lost ones. */
    public synchronized List<RegisteredWorker> sweep(long timeoutMillis) {
        List<RegisteredWorker> newlyLost = new ArrayList<>();
        for (RegisteredWorker w : workers.values()) {
            if (!w.lost() && w.lastHeardAgeMillis() > timeoutMillis) {
                w.markLost();
                newlyLost.add(w);
            }
        }
        return newlyLost;
    }
}
