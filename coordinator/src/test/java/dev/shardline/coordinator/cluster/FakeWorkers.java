package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.BatchEntry;
import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.model.weights.LayerRange;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Workers in memory, for driving the real reconciler, runners and schedulers without processes or sockets. Each
 * fake pipeline keeps, per sequence, the tokens its stages have seen (prefill chunks and decode tokens, forgotten
 * on {@code finished_sequence_ids}) and "samples" {@link #next}: a hash of the whole history. So a sequence that
 * migrates and re-prefills its prompt + journal continues exactly as it would have, and a token lost or repeated
 * anywhere changes every later one. Loading, step completion, heartbeats and failures happen only when the test
 * says so.
 */
public final class FakeWorkers implements WorkerTransport {
    public static final int VOCAB = 1000;

    /** The token after {@code history}: the same function everywhere. */
    public static int next(List<Integer> history) {
        long h = 1125899906842597L;
        for (int t : history) h = 31 * h + t;
        h ^= h >>> 29;
        return (int) Math.floorMod(h * 0x9E3779B97F4A7C15L, (long) VOCAB);
    }

    /** One fake worker process. */
    public final class Worker {
        final String id;
        final long budget;
        boolean alive = true;
        boolean stopped;            // told to exit (WORKER_COMMAND_DRAIN)
        boolean drainRequested;     // its "process" got SIGTERM
        int pipelineId = -1;
        long epoch;
        LayerRange held;

        Worker(String id, long budget) {
            this.id = id;
            this.budget = budget;
        }

        WorkerRecord record() {
            return new WorkerRecord(id, id + ":1", "fake", 1, budget, "fp", 1.0, null, 0);
        }
    }

    /** A pipeline as its fake stages see it. */
    final class Pipeline {
        final int id;
        final long epoch;
        final Map<Integer, String> stages = new HashMap<>();
        final Map<Long, List<Integer>> history = new HashMap<>();
        final Map<Long, int[]> forced = new HashMap<>();
        final List<OutboundStep> inFlight = new ArrayList<>();
        LinkListener link;
        boolean closed;

        Pipeline(int id, long epoch) {
            this.id = id;
            this.epoch = epoch;
        }

        boolean broken() {
            return stages.values().stream().anyMatch(w -> !workers.get(w).alive);
        }
    }

    private record PendingAssign(Worker worker, StageAssignment assignment, CompletableFuture<StageLoaded> future) {
    }

    final Map<String, Worker> workers = new LinkedHashMap<>();
    final Map<Integer, Pipeline> pipelines = new HashMap<>();
    private final List<PendingAssign> assigns = new ArrayList<>();
    public ClusterReconciler cluster;

    public Worker add(String id, long budget) {
        Worker w = new Worker(id, budget);
        workers.put(id, w);
        String refused = cluster.register(w.record());
        if (refused != null) throw new AssertionError("registration refused: " + refused);
        return w;
    }

    @Override
    public CompletableFuture<StageLoaded> assign(WorkerRecord worker, StageAssignment a, Consumer<String> progress) {
        CompletableFuture<StageLoaded> f = new CompletableFuture<>();
        assigns.add(new PendingAssign(workers.get(worker.id()), a, f));
        pipelines.computeIfAbsent(a.pipelineId(), id -> new Pipeline(id, a.epoch())).stages.put(a.stageIndex(), worker.id());
        return f;
    }

    /** Finishes the loads the test picks: alive workers become ready, dead ones fail. */
    public void load(SplittableRandom r, boolean all) {
        for (var it = assigns.iterator(); it.hasNext(); ) {
            PendingAssign p = it.next();
            if (!all && r.nextBoolean()) continue;
            it.remove();
            if (!p.worker.alive || p.worker.stopped) {
                p.future.completeExceptionally(new IllegalStateException("UNAVAILABLE: " + p.worker.id + " is gone"));
            } else {
                p.worker.pipelineId = p.assignment.pipelineId();
                p.worker.epoch = p.assignment.epoch();
                p.worker.held = p.assignment.range();
                p.future.complete(new StageLoaded(p.worker.id, (long) p.assignment.kvBlocks() * p.assignment.blockSize(), 1));
            }
        }
    }

    int pendingAssigns() {
        return assigns.size();
    }

    @Override
    public Stage0Link openStage0(WorkerRecord worker, int pipelineId, long epoch, LinkListener listener) {
        Pipeline p = pipelines.get(pipelineId);
        p.link = listener;
        return new Stage0Link() {
            @Override
            public boolean tryCredit() {
                return !p.closed;
            }

            @Override
            public void returnCredit() {
            }

            @Override
            public void send(OutboundStep step) {
                if (step.epoch() != p.epoch) throw new AssertionError("step of epoch " + step.epoch() + " into " + p.epoch);
                p.inFlight.add(step);
            }

            @Override
            public void close() {
                p.closed = true;
            }
        };
    }

    /** Completes one in-flight micro-batch of a working pipeline, if any; returns whether it did. */
    public boolean completeOne(SplittableRandom r) {
        List<Pipeline> ready = pipelines.values().stream().filter(p -> !p.inFlight.isEmpty() && !p.broken()).toList();
        if (ready.isEmpty()) return false;
        Pipeline p = ready.get(r.nextInt(ready.size()));
        OutboundStep step = p.inFlight.removeFirst();          // a pipeline answers in order
        for (long id : step.batch().finishedSequenceIds()) {
            p.history.remove(id);
            p.forced.remove(id);
        }
        step.sampling().forEach((id, spec) -> p.forced.put(id, spec.forcedTokenIds()));
        List<SampledTokenResult> out = new ArrayList<>();
        for (BatchEntry e : step.batch().entries()) {
            List<Integer> h = p.history.computeIfAbsent(e.sequenceId(), k -> new ArrayList<>());
            if (e.firstPosition() > h.size()) {
                throw new AssertionError("sequence " + e.sequenceId() + " skips positions " + h.size() + ".." + e.firstPosition());
            }
            while (h.size() > e.firstPosition()) h.removeLast();  // recomputation after a preemption
            for (int t : e.tokens()) h.add(t);
            if (e.wantLogits()) {
                int[] forced = p.forced.getOrDefault(e.sequenceId(), new int[0]);
                int index = e.generatedCount();                   // tokens generated before this entry's sample
                int token = index < forced.length ? forced[index] : next(h);
                out.add(new SampledTokenResult(e.sequenceId(), token, -1f));
            }
        }
        cluster.onStepResult(new StepOutcome(p.id, p.epoch, step.batch().stepId(), out, List.of(), ""));
        return true;
    }

    /** The worker dies (kill -9): its pipeline's steps stop; stage 0's stream breaks at once. */
    void kill(Worker w) {
        w.alive = false;
        for (Pipeline p : pipelines.values()) {
            if (!p.closed && p.link != null && w.id.equals(p.stages.get(0))) p.link.onBroken("stage 0 " + w.id + " died");
        }
    }

    /** Every live worker heartbeats and obeys the answer. */
    public void beat() {
        for (Worker w : workers.values()) {
            if (!w.alive || w.stopped) continue;
            String linkError = "";
            for (Pipeline p : pipelines.values()) {     // a live stage whose next stage died reports it
                if (p.id != w.pipelineId || p.closed) continue;
                for (Map.Entry<Integer, String> s : p.stages.entrySet()) {
                    String next = p.stages.get(s.getKey() + 1);
                    if (s.getValue().equals(w.id) && next != null && !workers.get(next).alive) {
                        linkError = "stream to " + next + " broke";
                    }
                }
            }
            WorkerBeat b = new WorkerBeat(w.id, w.pipelineId >= 0 ? ReportedState.READY : ReportedState.IDLE,
                    w.pipelineId, w.epoch, 0, 0, 0, "", linkError, w.drainRequested, 1, 0, 0, 0);
            WorkerCommand c = cluster.heartbeat(b).orElse(WorkerCommand.register("unknown"));
            switch (c.kind()) {
                case RELEASE -> {
                    if (c.epoch() == w.epoch) {
                        w.pipelineId = -1;
                        w.epoch = 0;
                    }
                }
                case DRAIN -> w.stopped = true;
                case REGISTER -> cluster.register(w.record());
                case NONE -> { }
            }
        }
    }

    Set<String> aliveIds() {
        Set<String> ids = new TreeSet<>();
        workers.values().stream().filter(w -> w.alive && !w.stopped).forEach(w -> ids.add(w.id));
        return ids;
    }

    @Override
    public void close() {
    }
}
