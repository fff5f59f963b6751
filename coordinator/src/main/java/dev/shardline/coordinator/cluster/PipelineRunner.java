package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.BatchEntry;
import dev.shardline.coordinator.schedule.MicroBatch;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.coordinator.schedule.Scheduler;
import dev.shardline.coordinator.schedule.SchedulerConfig;
import dev.shardline.coordinator.schedule.SchedulerListener;
import dev.shardline.coordinator.schedule.SequenceState;
import dev.shardline.model.engine.FinishReason;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Drives one pipeline: its {@link Scheduler} decides each micro-batch and the runner sends it into stage 0 while the
 * stage's credit allows (at most one micro-batch in flight per stage); the last stage's results come back through
 * {@link #onStepResult}. Sending is event-driven: whatever makes work or credit available (a result, a request, a
 * cancellation, a returned credit) sends the next micro-batches at once on its own thread; in production a pump
 * thread re-checks every 50 ms as a safety net. Every scheduler call happens under this runner's lock; sends are
 * serialised, in order, by {@code sendLock} (lock order: sendLock, then the runner).
 *
 * <p>Sequences belong to their owners ({@link ClusterSequence}), not to the runner: when the pipeline fails, drains
 * or evacuates, the runner hands its live sequences back and they resume elsewhere from their journals.
 */
public final class PipelineRunner implements AutoCloseable {
    private final java.util.Set<Long> resuming = java.util.concurrent.ConcurrentHashMap.newKeySet();   // moved here, no token yet
    private final int pipelineId;
    private final long epoch;
    private final Scheduler scheduler;
    private final ActivationFormat activations;
    private final Events events;
    private final LongSupplier clock;
    private final PipelineStats stats;
    private final Map<Long, ClusterSequence> owners = new HashMap<>();
    private final Map<ClusterSequence, Long> ids = new java.util.IdentityHashMap<>();
    private final Set<Long> decoding = new HashSet<>();
    private final Set<Long> stopNow = new HashSet<>();
    private final Map<Long, SamplerSpec> sampling = new HashMap<>();
    private final Map<Long, Integer> prefillRows = new HashMap<>();
    private final Set<Long> started = new HashSet<>();
    private final Map<Long, String> stepErrors = new HashMap<>();
    private final Object sendLock = new Object();
    private Stage0Link link;
    private Thread pumpThread;
    private volatile boolean accepting = true;
    private volatile boolean evacuating;
    private volatile boolean closed;
    private volatile String failure;
    private volatile long lastStepNanos;
    private long tokensGenerated;
    private long prefillRowsTotal;
    private long admitted;

    /** What a runner tells the cluster, without waiting (the cluster reacts on its own thread). */
    public interface Events {
        /** The link into stage 0 broke: the pipeline cannot continue. */
        void onBroken(int pipelineId, long epoch, String reason);

        /** An evacuation finished: these sequences left the pipeline and must resume elsewhere. */
        void onEvacuated(int pipelineId, List<ClusterSequence> sequences);

        /** Something the cluster may act on changed (e.g. a draining pipeline became empty). */
        void onChanged(int pipelineId);
    }

    public PipelineRunner(int pipelineId, long epoch, SchedulerConfig config, ActivationFormat activations, Events events,
                          LongSupplier clock) {
        this.pipelineId = pipelineId;
        this.epoch = epoch;
        this.activations = activations;
        this.events = events;
        this.clock = clock;
        this.stats = new PipelineStats(config.stages());
        this.scheduler = new Scheduler(config, new Listener(), (seq, token) -> stopNow.remove(seq));
        this.lastStepNanos = clock.getAsLong();
    }

    /** Connects the runner to its stage-0 link; {@code safetyPump} starts the 50 ms re-check thread (production). */
    public void start(Stage0Link link, boolean safetyPump) {
        synchronized (sendLock) {
            this.link = link;
        }
        if (safetyPump) {
            pumpThread = Thread.ofPlatform().name("pipeline-" + pipelineId + "-pump").daemon().start(this::pumpLoop);
        }
        pump();
    }

    /** The listener for the stage-0 link: credit pumps, a broken link is reported. */
    public LinkListener linkListener() {
        return new LinkListener() {
            @Override
            public void onCredit() {
                pump();
            }

            @Override
            public void onBroken(String reason) {
                if (!closed && failure == null) events.onBroken(pipelineId, epoch, reason);
            }
        };
    }

    public int pipelineId() {
        return pipelineId;
    }

    public long epoch() {
        return epoch;
    }

    public PipelineStats stats() {
        return stats;
    }

    public SchedulerConfig config() {
        return scheduler.config();
    }

    /** Whether the sequence could ever run here: its prompt + max tokens fit the context and the KV cache. */
    public boolean fits(ClusterSequence s) {
        Request r = s.request();
        long need = r.maxTokens() == Integer.MAX_VALUE ? r.promptTokens().length + s.generated().length + 1 : r.maxLength();
        return need <= Math.min(scheduler.config().kvCapacityTokens(), scheduler.config().maxContext());
    }

    /**
     * Queues a sequence (new, or resuming with its journal).
     *
     * @throws IllegalStateException when the pipeline no longer takes sequences (failed, draining, closed)
     */
    public void submit(ClusterSequence s) {
        synchronized (this) {
            if (!accepting || failure != null || closed) {
                throw new IllegalStateException("pipeline " + pipelineId + " takes no new sequences"
                        + (failure != null ? ": " + failure : ""));
            }
            int[] before = s.generated();
            Request r = s.request().resumed(before, s.key());
            long id = scheduler.submit(r);
            if (before.length > 0) resuming.add(id);
            owners.put(id, s);
            ids.put(s, id);
            if (!(s instanceof CanarySequence)) admitted++;
            SamplerSpec spec = s.sampler();
            sampling.put(id, new SamplerSpec(spec.params(), spec.seed(), r.promptTokens().length, spec.forcedTokenIds()));
            prefillRows.put(id, 0);
        }
        pump();
    }

    /** Cancels a sequence (its client went away); its KV blocks are freed on every stage. */
    public void cancel(ClusterSequence s) {
        synchronized (this) {
            Long id = idOf(s);
            if (id != null) scheduler.cancel(id);
        }
        pump();
    }

    private Long idOf(ClusterSequence s) {
        return ids.get(s);
    }

    /**
     * Whether sequences that arrived with tokens generated elsewhere (migrated from a failed or drained pipeline) are
     * still re-prefilling here: none of them has produced its next token yet.
     */
    public boolean resumingMoved() {
        return !resuming.isEmpty();
    }

    /** Sequences running or waiting here: the load used to choose a pipeline. */
    public synchronized int load() {
        return scheduler.runningCount() + scheduler.waitingCount();
    }

    /** No live sequence and no micro-batch in flight. */
    public synchronized boolean isEmpty() {
        return !scheduler.hasWork() && scheduler.inFlightCount() == 0;
    }

    public boolean accepting() {
        return accepting && failure == null && !closed;
    }

    /** When the last micro-batch came back (or the runner started): the pipeline's proof of life. */
    public long lastStepNanos() {
        return lastStepNanos;
    }

    /** The sequences live here now (for invariant checks). */
    synchronized List<ClusterSequence> sequences() {
        return List.copyOf(owners.values());
    }

    /** KV blocks used, and the blocks the live sequences hold by their own tables (equal unless blocks leaked). */
    synchronized int[] blockAccounting() {
        int held = 0;
        for (long id : scheduler.liveSequenceIds()) {
            held += scheduler.state(id).map(st -> st.blocks().length).orElse(0);
        }
        return new int[] {scheduler.usedBlocks(), held};
    }

    public synchronized Snapshot snapshot() {
        return new Snapshot(scheduler.runningCount(), scheduler.waitingCount(), scheduler.inFlightCount(),
                scheduler.usedBlocks(), scheduler.totalBlocks(), scheduler.preemptionCount(), tokensGenerated,
                prefillRowsTotal, admitted);
    }

    /** Scheduler figures for status APIs. */
    public record Snapshot(int running, int waiting, int inFlight, int blocksUsed, int blocksTotal, long preemptions,
                           long tokensGenerated, long prefillRows, long admitted) {
    }

    // ---- leaving the pipeline ----

    /**
     * The pipeline is lost: nothing more is sent, results still in flight are dropped, and every live sequence is
     * handed back (with its journal as its owner kept it) to resume elsewhere.
     */
    public List<ClusterSequence> fail(String reason) {
        List<ClusterSequence> out;
        synchronized (this) {
            if (failure != null || closed) return List.of();
            failure = reason;
            out = new ArrayList<>(owners.values());
            owners.clear();
            ids.clear();
            sampling.clear();
            notifyAll();
        }
        closeLink();
        return out;
    }

    /**
     * Draining: no new sequences; those queued here and not yet admitted leave at once (returned, to be placed
     * elsewhere); admitted ones run to their end.
     */
    public List<ClusterSequence> stopAccepting() {
        List<ClusterSequence> out = new ArrayList<>();
        synchronized (this) {
            accepting = false;
            for (long id : scheduler.waitingSequenceIds()) {
                SequenceState st = scheduler.state(id).orElseThrow();
                if (st.inFlight()) continue;
                scheduler.detach(id);
                out.add(release(id));
            }
        }
        pump();
        return out;
    }

    /**
     * The drain deadline passed: nothing new is scheduled; once the micro-batches in flight are back, every live
     * sequence leaves and is reported through {@link Events#onEvacuated}.
     */
    public void evacuate() {
        synchronized (this) {
            accepting = false;
            evacuating = true;
        }
        finishEvacuation();
    }

    private void finishEvacuation() {
        List<ClusterSequence> out = new ArrayList<>();
        synchronized (this) {
            if (!evacuating || scheduler.inFlightCount() > 0 || failure != null) return;
            evacuating = false;
            for (long id : scheduler.liveSequenceIds()) {
                Optional<SequenceState> st = scheduler.detach(id);
                if (st.isPresent()) out.add(release(id));
            }
        }
        events.onEvacuated(pipelineId, out);
    }

    private ClusterSequence release(long id) {
        resuming.remove(id);
        sampling.remove(id);
        prefillRows.remove(id);
        started.remove(id);
        decoding.remove(id);
        ClusterSequence owner = owners.remove(id);
        if (owner != null) ids.remove(owner);
        return owner;
    }

    // ---- sending ----

    /** Sends micro-batches while stage 0 has credit and the scheduler has one, in order, without waiting. */
    private void pump() {
        synchronized (sendLock) {
            Stage0Link l = link;
            while (l != null && !closed && failure == null && l.tryCredit()) {
                OutboundStep step;
                synchronized (this) {
                    Optional<MicroBatch> next = evacuating ? Optional.empty() : scheduler.nextMicroBatch();
                    if (next.isEmpty()) {
                        l.returnCredit();
                        return;
                    }
                    step = outbound(next.get());
                }
                stats.sent(step.batch().stepId(), step.batch().totalRows(),
                        step.batch().totalRows() == step.batch().entries().size());
                try {
                    l.send(step);
                } catch (RuntimeException e) {
                    events.onBroken(pipelineId, epoch, "sending to stage 0 failed: " + e.getMessage());
                    return;
                }
            }
        }
    }

    private OutboundStep outbound(MicroBatch mb) {
        Map<Long, SamplerSpec> specs = new HashMap<>();
        for (BatchEntry e : mb.entries()) {
            if (e.includeSamplingParams()) specs.put(e.sequenceId(), sampling.get(e.sequenceId()));
            prefillRows.merge(e.sequenceId(), e.rows(), Integer::sum);
            if (!(e.rows() == 1 && decoding.contains(e.sequenceId()))) prefillRowsTotal += e.rows();
            if (started.add(e.sequenceId())) {
                ClusterSequence owner = owners.get(e.sequenceId());
                if (owner != null) owner.onScheduled(pipelineId);
            }
        }
        return new OutboundStep(pipelineId, epoch, mb, activations, specs);
    }

    private void pumpLoop() {
        while (!closed && failure == null) {
            pump();
            synchronized (this) {
                try {
                    wait(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    // ---- results ----

    /** A last-stage result (called on a transport thread). Results of another epoch, or after a failure, are dropped. */
    public void onStepResult(StepOutcome r) {
        if (r.epoch() != epoch || closed || failure != null) return;
        stats.completed(r.stepId(), r.timings());
        boolean emptyNow;
        synchronized (this) {
            if (failure != null || !scheduler.inFlightStepIds().contains(r.stepId())) return;
            lastStepNanos = clock.getAsLong();
            List<SampledTokenResult> results = new ArrayList<>(r.tokens());
            if (r.failed()) {
                MicroBatch mb = scheduler.inFlightBatch(r.stepId()).orElseThrow();
                results.clear();
                for (BatchEntry e : mb.entries()) {
                    stepErrors.put(e.sequenceId(), r.error());
                    scheduler.cancel(e.sequenceId());
                }
                for (BatchEntry e : mb.logitEntries()) results.add(new SampledTokenResult(e.sequenceId(), 0, 0f));
            }
            scheduler.onResult(r.stepId(), results);
            emptyNow = !accepting && !scheduler.hasWork();
        }
        if (evacuating) {
            finishEvacuation();
        }
        pump();                                          // the next step goes out on this (transport) thread
        if (emptyNow) events.onChanged(pipelineId);
    }

    public String failure() {
        return failure;
    }

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            notifyAll();
        }
        if (pumpThread != null) pumpThread.interrupt();
        closeLink();
    }

    private void closeLink() {
        Stage0Link l;
        synchronized (sendLock) {
            l = link;
        }
        if (l != null) l.close();
    }

    private final class Listener implements SchedulerListener {
        @Override
        public void onSampled(long sequenceId, SampledTokenResult result, int index) {
            tokensGenerated++;
            resuming.remove(sequenceId);
            ClusterSequence owner = owners.get(sequenceId);
            if (owner == null) return;
            int rows = prefillRows.getOrDefault(sequenceId, 0);
            prefillRows.put(sequenceId, 0);
            decoding.add(sequenceId);
            if (owner.onToken(result, rows)) {
                stopNow.add(sequenceId);                        // a stop string or a consumer too slow: ends as STOP
            }
        }

        @Override
        public void onFinished(long sequenceId, FinishReason reason, int generatedCount) {
            stopNow.remove(sequenceId);
            ClusterSequence owner = release(sequenceId);
            String error = stepErrors.remove(sequenceId);
            if (owner == null) return;
            if (error != null) {
                owner.onFailed(ClusterSequence.Failure.STEP_FAILED, error);
            } else {
                owner.onFinished(reason);
            }
        }

        @Override
        public void onPreempted(long sequenceId) {
            prefillRows.put(sequenceId, 0);
            ClusterSequence owner = owners.get(sequenceId);
            if (owner != null) owner.onPreempted();
        }
    }
}
