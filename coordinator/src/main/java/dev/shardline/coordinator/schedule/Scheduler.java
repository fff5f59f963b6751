package dev.shardline.coordinator.schedule;

import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.kvcache.BlockAllocator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Continuous batching for one pipeline, as pure deterministic code (no threads, no I/O; one caller drives it).
 * Each {@link #nextMicroBatch()} takes the running sequences' decode tokens first, then prefill chunks (running
 * sequences mid-prompt, then admissions from the queue) under the token budget; at most {@code stages}
 * micro-batches are in flight and a sequence is in at most one of them. KV blocks are allocated as sequences grow;
 * when they run out, the lowest-ranked running sequence that is not in flight (lowest priority, then the latest
 * arrival) is preempted by recomputation: its blocks are freed and it re-queues at the head of its priority to
 * prefill prompt + generated tokens again. Rank = priority class (interactive before batch), then priority (higher
 * first), then arrival (first come first served). A request may arrive with tokens it generated on another pipeline
 * ({@link Request#generated()}): it prefills prompt + those tokens, like a preempted sequence, and queues at the
 * head of its rank in arrival order. Several prompts pending at once (a burst, or sequences that migrated here) go
 * into as few micro-batches as the token budget allows: spreading them over the stages' micro-batches was measured
 * slower on CPU stages (each micro-batch streams the stage's weights again; docs/PERFORMANCE.md). Interactive work comes first also over running batch work: a waiting interactive sequence that lacks a running
 * slot or KV blocks preempts running batch sequences the same way.
 */
public final class Scheduler {
    /** A waiting queue's key: interactive before batch, then higher priority first. */
    record Rank(PriorityClass priorityClass, int priority) {
    }

    private static final Comparator<Rank> QUEUE_ORDER = Comparator.comparing(Rank::priorityClass)
            .thenComparing(Comparator.comparingInt(Rank::priority).reversed());
    private static final Comparator<ScheduledSequence> RANK = Comparator.comparing(ScheduledSequence::rank, QUEUE_ORDER)
            .thenComparingLong(ScheduledSequence::arrival).thenComparingLong(s -> s.id);

    private final SchedulerConfig cfg;
    private final SchedulerListener listener;
    private final StopPolicy stopPolicy;
    private final BlockAllocator allocator;
    private final Map<Long, ScheduledSequence> live = new LinkedHashMap<>();
    private final TreeSet<ScheduledSequence> running = new TreeSet<>(RANK);
    private final TreeMap<Rank, ArrayDeque<ScheduledSequence>> waiting = new TreeMap<>(QUEUE_ORDER);
    private final Map<Long, List<ScheduledSequence>> inFlight = new LinkedHashMap<>();
    private final Map<Long, MicroBatch> inFlightBatches = new HashMap<>();
    private final List<Long> toForget = new ArrayList<>();
    private long nextSequenceId = 1;
    private long nextStepId = 1;
    private long preemptions;
    private boolean preemptBatchForInteractive = true;

    public Scheduler(SchedulerConfig cfg, SchedulerListener listener, StopPolicy stopPolicy) {
        this.cfg = cfg;
        this.listener = listener == null ? SchedulerListener.NONE : listener;
        this.stopPolicy = stopPolicy == null ? StopPolicy.NONE : stopPolicy;
        this.allocator = new BlockAllocator(cfg.kvBlocks());
    }

    public Scheduler(SchedulerConfig cfg) {
        this(cfg, SchedulerListener.NONE, StopPolicy.NONE);
    }

    /**
     * Queues a request and returns its sequence id.
     *
     * @throws InvalidRequestException naming the field: an empty prompt, max tokens below 1, or a prompt + max
     *                                 tokens beyond the context or the KV capacity
     */
    public long submit(Request r) {
        int[] prompt = r.promptTokens();
        if (prompt == null || prompt.length == 0) {
            throw new InvalidRequestException("prompt", "the prompt is empty: at least one token is needed");
        }
        for (int t : prompt) {
            if (t < 0) {
                throw new InvalidRequestException("prompt", "token id " + t + " is negative");
            }
        }
        if (r.maxTokens() < 1) {
            throw new InvalidRequestException("max_tokens", "must be at least 1, got " + r.maxTokens());
        }
        long kv = cfg.kvCapacityTokens();
        if (prompt.length >= cfg.maxContext()) {
            throw new InvalidRequestException("prompt", "prompt of " + prompt.length + " tokens leaves no room in the "
                    + "context of " + cfg.maxContext() + " tokens");
        }
        if (prompt.length >= kv) {
            throw new InvalidRequestException("prompt", "prompt of " + prompt.length + " tokens leaves no room in the "
                    + "KV cache capacity of " + kv + " tokens");
        }
        int maxTokens = r.maxTokens();
        int before = r.generated().length;
        if (before > 0 && before >= maxTokens) {
            throw new InvalidRequestException("max_tokens", "the sequence already generated " + before
                    + " of its " + maxTokens + " tokens");
        }
        if ((long) prompt.length + before >= Math.min(cfg.maxContext(), kv)) {
            throw new InvalidRequestException("prompt", "prompt of " + prompt.length + " tokens + " + before
                    + " generated leaves no room in the context of " + Math.min(cfg.maxContext(), kv) + " tokens");
        }
        if (maxTokens == Integer.MAX_VALUE) {
            maxTokens = (int) Math.min(cfg.maxContext(), kv) - prompt.length;
        } else if ((long) prompt.length + maxTokens > cfg.maxContext()) {
            throw new InvalidRequestException("max_tokens", "prompt of " + prompt.length + " tokens + max tokens "
                    + maxTokens + " exceeds the context of " + cfg.maxContext() + " tokens");
        } else if ((long) prompt.length + maxTokens > kv) {
            throw new InvalidRequestException("max_tokens", "prompt of " + prompt.length + " tokens + max tokens "
                    + maxTokens + " exceeds the KV cache capacity of " + kv + " tokens");
        }
        ScheduledSequence s = new ScheduledSequence(nextSequenceId++, r, maxTokens);
        live.put(s.id, s);
        if (s.returning()) {
            queueAtHead(s);
        } else {
            waiting.computeIfAbsent(s.rank(), p -> new ArrayDeque<>()).addLast(s);
        }
        return s.id;
    }

    /** Into its rank's queue among the other returning sequences at its head, in arrival order. */
    private void queueAtHead(ScheduledSequence s) {
        ArrayDeque<ScheduledSequence> q = waiting.computeIfAbsent(s.rank(), p -> new ArrayDeque<>());
        List<ScheduledSequence> head = new ArrayList<>();
        while (!q.isEmpty() && q.peekFirst().returning() && RANK.compare(q.peekFirst(), s) < 0) {
            head.add(q.pollFirst());
        }
        q.addFirst(s);
        for (int i = head.size() - 1; i >= 0; i--) {
            q.addFirst(head.get(i));
        }
    }

    /**
     * The next micro-batch to send, or empty when {@code stages} are in flight or there is nothing to do. A batch
     * with no entries carries only sequences for the stages to forget.
     */
    public Optional<MicroBatch> nextMicroBatch() {
        if (inFlight.size() >= cfg.stages()) {
            return Optional.empty();
        }
        Build b = new Build(cfg.tokenBudget());
        int reserved = makeRoomForInteractive(b);                           // interactive first, also over batch work
        b.budget -= reserved;
        for (ScheduledSequence s : List.copyOf(running)) {                  // decode tokens first
            if (b.budget == 0) break;
            if (b.eligible(s) && s.remaining() == 1 && ensureBlocks(s, s.computed + 1, b)) {
                b.add(s, 1);
            }
        }
        for (ScheduledSequence s : List.copyOf(running)) {                  // then prompts already under way
            if (b.budget == 0) break;
            if (!b.eligible(s) || s.remaining() <= 1) continue;
            int rows = Math.min(b.budget, s.remaining());
            if (!ensureBlocks(s, s.computed + rows, b)) {
                rows = (int) Math.min(rows, (long) s.blockCount * cfg.blockSize() - s.computed);
                if (rows <= 0) continue;
            }
            b.add(s, rows);
        }
        b.budget += reserved;
        while (b.budget > 0 && running.size() < cfg.maxRunningSequences() && !waiting.isEmpty()) {
            ArrayDeque<ScheduledSequence> q = waiting.firstEntry().getValue();   // then admissions, in rank order
            ScheduledSequence s = q.peekFirst();
            if (b.preempted.contains(s)) break;                             // not back in the batch that evicted it
            int rows = (int) Math.min(b.budget, Math.min(s.remaining(), (long) allocator.freeBlocks() * cfg.blockSize()));
            if (rows <= 0) break;
            q.pollFirst();
            if (q.isEmpty()) waiting.pollFirstEntry();
            s.status = SequenceStatus.RUNNING;
            running.add(s);
            ensureBlocks(s, rows, b);
            b.add(s, rows);
        }
        if (b.entries.isEmpty() && toForget.isEmpty()) {
            return Optional.empty();
        }
        MicroBatch mb = new MicroBatch(nextStepId++, b.entries, toForget);
        toForget.clear();
        for (ScheduledSequence s : b.members) {
            s.inFlight = true;
        }
        inFlight.put(mb.stepId(), List.copyOf(b.members));
        inFlightBatches.put(mb.stepId(), mb);
        return Optional.of(mb);
    }

    /** A micro-batch under construction. */
    private final class Build {
        int budget;
        final List<BatchEntry> entries = new ArrayList<>();
        final Set<ScheduledSequence> members = new HashSet<>();
        final Set<ScheduledSequence> preempted = new HashSet<>();

        Build(int budget) {
            this.budget = budget;
        }

        boolean eligible(ScheduledSequence s) {
            return s.status == SequenceStatus.RUNNING && !s.inFlight && !members.contains(s);
        }

        void add(ScheduledSequence s, int rows) {
            int first = s.computed;
            boolean wantLogits = first + rows == s.length;
            entries.add(new BatchEntry(s.id, Arrays.copyOfRange(s.tokens, first, first + rows), first, rows,
                    Arrays.copyOf(s.blocks, s.blockCount), wantLogits, s.needsSamplingParams, s.generated()));
            s.computed += rows;
            s.needsSamplingParams = false;
            s.knownToStages = true;
            members.add(s);
            budget -= rows;
        }
    }

    /** Gives s blocks for {@code positions} positions, preempting lower-ranked idle sequences if needed. */
    private boolean ensureBlocks(ScheduledSequence s, int positions, Build b) {
        int need = (positions + cfg.blockSize() - 1) / cfg.blockSize() - s.blockCount;
        if (need > allocator.freeBlocks()) {
            List<ScheduledSequence> victims = new ArrayList<>();
            int gain = allocator.freeBlocks();
            for (ScheduledSequence v : running.descendingSet()) {             // lowest rank first
                if (RANK.compare(v, s) <= 0 || gain >= need) break;
                if (v.inFlight || b.members.contains(v)) continue;
                victims.add(v);
                gain += v.blockCount;
            }
            if (gain < need) {
                return false;
            }
            for (ScheduledSequence v : victims) {
                preempt(v);
                b.preempted.add(v);
            }
        }
        for (int i = 0; i < need; i++) {
            s.addBlock(allocator.allocate());
        }
        return true;
    }

    /**
     * Room for the waiting interactive sequences, in queue order, before the step plans anything else: while one
     * lacks a running slot or the blocks of its first chunk, the lowest-ranked idle running batch sequence (lowest
     * priority, then latest arrival: the batch sequence admitted last) is preempted. Returns the rows to keep for
     * their first chunks, beyond one decode row per running sequence, so batch prefill chunks cannot take them.
     * Nothing changes while no batch sequence runs.
     */
    private int makeRoomForInteractive(Build b) {
        if (running.isEmpty() || running.last().request.priorityClass() != PriorityClass.BATCH) return 0;
        int admitted = 0;
        int blocks = 0;
        int rows = 0;
        List<ScheduledSequence> interactive = new ArrayList<>();           // preempting re-queues: iterate a copy
        for (var e : waiting.entrySet()) {
            if (e.getKey().priorityClass() != PriorityClass.INTERACTIVE) break;
            interactive.addAll(e.getValue());
        }
        for (ScheduledSequence s : interactive) {
            int left = b.budget - running.size() - rows;
            if (left <= 0) break;
            int chunk = Math.min(left, s.remaining());
            int need = (chunk + cfg.blockSize() - 1) / cfg.blockSize();
            while ((running.size() + admitted >= cfg.maxRunningSequences() || allocator.freeBlocks() - blocks < need)
                    && preemptBatch(b)) {
                // freed a slot and its blocks
            }
            if (running.size() + admitted >= cfg.maxRunningSequences()) break;
            chunk = (int) Math.min(chunk, Math.max(0L, (long) (allocator.freeBlocks() - blocks) * cfg.blockSize()));
            if (chunk == 0) break;
            admitted++;
            blocks += (chunk + cfg.blockSize() - 1) / cfg.blockSize();
            rows += chunk;
        }
        return rows;
    }

    /** Preempts the lowest-ranked running batch sequence that is idle; false when there is none (or it is off). */
    private boolean preemptBatch(Build b) {
        if (!preemptBatchForInteractive) return false;
        for (ScheduledSequence v : running.descendingSet()) {               // lowest rank first
            if (v.request.priorityClass() != PriorityClass.BATCH) return false;
            if (v.inFlight || b.members.contains(v)) continue;
            preempt(v);
            b.preempted.add(v);
            return true;
        }
        return false;
    }

    /** Test switch: off, an interactive request waits for a running batch sequence to end or be preempted for KV. */
    void preemptBatchForInteractive(boolean on) {
        preemptBatchForInteractive = on;
    }

    private void preempt(ScheduledSequence v) {
        freeBlocks(v);
        v.computed = 0;
        v.status = SequenceStatus.WAITING;
        v.needsSamplingParams = true;
        v.preemptions++;
        running.remove(v);
        queueAtHead(v);
        forget(v);
        preemptions++;
        listener.onPreempted(v.id);
    }

    /**
     * The last stage's tokens for micro-batch {@code stepId}: one per entry that wanted logits. Appends them, applies
     * the stop conditions (stop / EOS ids, the {@link StopPolicy}, max tokens) and finishes sequences.
     *
     * @throws IllegalStateException for an unknown step or results that do not match its entries (nothing changes)
     */
    public void onResult(long stepId, List<SampledTokenResult> results) {
        MicroBatch mb = inFlightBatches.get(stepId);
        if (mb == null) {
            throw new IllegalStateException("no micro-batch " + stepId + " is in flight");
        }
        Map<Long, SampledTokenResult> byId = new HashMap<>();
        for (SampledTokenResult r : results) {
            if (byId.put(r.sequenceId(), r) != null) {
                throw new IllegalStateException("micro-batch " + stepId + ": two results for sequence " + r.sequenceId());
            }
        }
        List<BatchEntry> want = mb.logitEntries();
        for (BatchEntry e : want) {
            if (!byId.containsKey(e.sequenceId())) {
                throw new IllegalStateException("micro-batch " + stepId + ": no result for sequence " + e.sequenceId());
            }
        }
        if (byId.size() != want.size()) {
            throw new IllegalStateException("micro-batch " + stepId + ": " + byId.size() + " results for "
                    + want.size() + " sampled entries");
        }
        inFlightBatches.remove(stepId);
        for (ScheduledSequence s : inFlight.remove(stepId)) {
            s.inFlight = false;
        }
        for (BatchEntry e : mb.entries()) {
            ScheduledSequence s = live.get(e.sequenceId());
            if (s == null) continue;                                        // cancelled by a listener meanwhile
            if (s.cancelRequested) {
                finish(s, FinishReason.CANCELLED);
            } else if (e.wantLogits()) {
                accept(s, byId.get(s.id));
            }
        }
    }

    private void accept(ScheduledSequence s, SampledTokenResult r) {
        s.append(r.tokenId());
        listener.onSampled(s.id, r, s.generated() - 1);
        if (live.get(s.id) != s) {
            return;                                                         // the listener cancelled it
        }
        if (s.request.stopsOn(r.tokenId()) || stopPolicy.shouldStop(s.id, r.tokenId())) {
            finish(s, FinishReason.STOP);
        } else if (s.generated() >= s.maxTokens) {
            finish(s, FinishReason.LENGTH);
        }
    }

    /**
     * Cancels a live sequence: at once when it is not in flight, else when its micro-batch's result arrives. The
     * stages are told to forget it in the next micro-batch. Returns false for unknown or finished sequences.
     */
    public boolean cancel(long sequenceId) {
        ScheduledSequence s = live.get(sequenceId);
        if (s == null) {
            return false;
        }
        if (s.inFlight) {
            s.cancelRequested = true;
        } else {
            finish(s, FinishReason.CANCELLED);
        }
        return true;
    }

    private void finish(ScheduledSequence s, FinishReason reason) {
        remove(s);
        listener.onFinished(s.id, reason, s.generated());
    }

    /** Frees the sequence's blocks, takes it out of its queue or the running set, and has the stages forget it. */
    private void remove(ScheduledSequence s) {
        freeBlocks(s);
        if (s.status == SequenceStatus.RUNNING) {
            running.remove(s);
        } else {
            ArrayDeque<ScheduledSequence> q = waiting.get(s.rank());
            q.remove(s);
            if (q.isEmpty()) waiting.remove(s.rank());
        }
        live.remove(s.id);
        forget(s);
    }

    /**
     * Takes a sequence off this pipeline without finishing it (it moves to another one): frees its blocks, tells the
     * stages to forget it, and returns its last state (prompt length and generated tokens, to resume elsewhere).
     * Empty for an unknown sequence.
     *
     * @throws IllegalStateException while it is in flight (wait for its micro-batch's result first)
     */
    public Optional<SequenceState> detach(long sequenceId) {
        ScheduledSequence s = live.get(sequenceId);
        if (s == null) {
            return Optional.empty();
        }
        if (s.inFlight) {
            throw new IllegalStateException("sequence " + sequenceId + " is in flight");
        }
        SequenceState state = s.snapshot();
        remove(s);
        return Optional.of(state);
    }

    /** Ids of sequences queued and not admitted (holding no KV blocks), in queue order. */
    public List<Long> waitingSequenceIds() {
        List<Long> ids = new ArrayList<>();
        for (ArrayDeque<ScheduledSequence> q : waiting.values()) {
            for (ScheduledSequence s : q) ids.add(s.id);
        }
        return ids;
    }

    private void forget(ScheduledSequence s) {
        if (s.knownToStages) {
            toForget.add(s.id);
            s.knownToStages = false;
        }
    }

    private void freeBlocks(ScheduledSequence s) {
        allocator.free(s.blocks, s.blockCount);
        s.blockCount = 0;
    }

    public SchedulerConfig config() {
        return cfg;
    }

    /** Whether any sequence is still live (queued, running or in flight). */
    public boolean hasWork() {
        return !live.isEmpty();
    }

    public int inFlightCount() {
        return inFlight.size();
    }

    public int runningCount() {
        return running.size();
    }

    public int waitingCount() {
        return waiting.values().stream().mapToInt(ArrayDeque::size).sum();
    }

    public int usedBlocks() {
        return allocator.usedBlocks();
    }

    public int freeBlocks() {
        return allocator.freeBlocks();
    }

    public int totalBlocks() {
        return allocator.numBlocks();
    }

    /** Preemptions so far. */
    public long preemptionCount() {
        return preemptions;
    }

    /** Ids of live sequences, in arrival order. */
    public List<Long> liveSequenceIds() {
        return List.copyOf(live.keySet());
    }

    /** A snapshot of a live sequence; empty once it has finished. */
    public Optional<SequenceState> state(long sequenceId) {
        ScheduledSequence s = live.get(sequenceId);
        return s == null ? Optional.empty() : Optional.of(s.snapshot());
    }

    /** The micro-batch in flight with this step id, if any. */
    public Optional<MicroBatch> inFlightBatch(long stepId) {
        return Optional.ofNullable(inFlightBatches.get(stepId));
    }

    /** Ids of the micro-batches in flight, oldest first. */
    public List<Long> inFlightStepIds() {
        return Collections.unmodifiableList(new ArrayList<>(inFlight.keySet()));
    }
}
