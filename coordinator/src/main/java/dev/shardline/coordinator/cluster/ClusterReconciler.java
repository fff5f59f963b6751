package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.desired.Action;
import dev.shardline.coordinator.desired.ClusterView;
import dev.shardline.coordinator.desired.DesiredCluster;
import dev.shardline.coordinator.desired.Epochs;
import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.coordinator.desired.PipelineView;
import dev.shardline.coordinator.desired.WorkerView;
import dev.shardline.coordinator.plan.PipelinePlan;
import dev.shardline.coordinator.plan.StagePlan;
import dev.shardline.coordinator.schedule.SchedulerConfig;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The running cluster as a reconciler. Everything that changes the cluster (a worker registers, heartbeats, goes
 * silent or reports a broken link; a stage finishes loading; an admin scales or drains; a timer ticks) becomes an
 * event handled on ONE thread, which asks {@link DesiredCluster} what should change and carries the actions out:
 * <pre>
 *   reconcile():  view -> DesiredCluster.decide -> fail | drain | evacuate | retire | form   (until nothing is left)
 *   dispatch():   waiting sequences -> the least-loaded serving pipeline they fit, or fail after the queue timeout
 * </pre>
 * Sequences go straight to a serving pipeline when one fits ({@link #submit}, on the caller's thread); they wait in
 * the cluster's queue while none does. A pipeline that fails or drains hands its sequences back, and they resume
 * elsewhere from their journals. In tests the same code runs without its thread: {@link #runPending()} handles the
 * queued events and {@link #tick()} plays the timer, on the caller's thread.
 */
public final class ClusterReconciler implements AutoCloseable {
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ClusterSettings settings;
    private final WorkerRegistry registry;
    private final WorkerTransport transport;
    private final LongSupplier clock;
    private final Consumer<String> log;
    private final boolean threaded;
    private final Epochs epochs = new Epochs();
    private final ConcurrentLinkedQueue<Runnable> events = new ConcurrentLinkedQueue<>();
    private final Map<Integer, PipelineRecord> pipelines = new LinkedHashMap<>();
    private final ArrayDeque<PipelineRecord> failed = new ArrayDeque<>();
    private final ClusterCounters counters = new ClusterCounters();
    private final Placement placement;
    private final PendingQueue pending;
    private final FormDeferral deferral = new FormDeferral();
    private final long startNanos;
    private final Thread thread;
    private volatile List<PipelineRunner> routable = List.of();
    private volatile ClusterStatus status;
    private volatile boolean closed;
    private volatile String coordinatorAddress = "";
    private volatile int target;
    private int nextPipelineId;
    private boolean formedOnce;

    /**
     * @param threaded true: handle events on an own thread with a 100 ms tick (production); false: the caller drives
     *                 it with {@link #runPending()} and {@link #tick()} (tests)
     */
    public ClusterReconciler(ClusterSettings settings, WorkerRegistry registry, WorkerTransport transport,
                             LongSupplier clock, Consumer<String> log, boolean threaded) {
        this.settings = settings;
        this.registry = registry;
        this.transport = transport;
        this.clock = clock;
        this.log = log;
        this.threaded = threaded;
        this.target = settings.targetPipelines();
        this.placement = new Placement(counters, settings.queueTimeoutMillis());
        this.pending = placement.pending();
        this.startNanos = clock.getAsLong();
        this.status = buildStatus();
        this.thread = threaded ? Thread.ofPlatform().name("cluster-reconciler").daemon().unstarted(this::loop) : null;
    }

    /**
     * Starts the cluster: from now on pipelines form. {@code coordinatorAddress} is where last stages report (the
     * coordinator's host:port, known once its server is bound). Starts the event thread in threaded mode.
     */
    public void start(String coordinatorAddress) {
        this.coordinatorAddress = coordinatorAddress;
        if (thread != null) thread.start();
    }

    // ---- inputs, on any thread ----

    /** A worker registers; null when accepted, else the reason it was refused. */
    public String register(WorkerRecord w) {
        String refused = registry.register(w);
        if (refused != null) {
            log.accept("worker " + w.id() + " refused: " + refused);
            return refused;
        }
        if (w.held() != null) epochs.observe(w.held().epoch());
        log.accept("worker " + w.id() + " registered from " + w.address() + " (" + w.backend() + ", " + w.threads()
                + " threads, " + String.format("%.2f GB", w.memoryBudgetBytes() / 1e9) + " budget"
                + (w.held() != null ? ", holding " + w.held().range() : "") + ")");
        post(() -> {
            if (registry.reRegisteredFromPipeline(w.id())) {
                pipelineOf(w.id()).ifPresent(p -> p.broken = "worker " + w.id() + " restarted (it registered again)");
            }
        });
        return null;
    }

    /** A heartbeat; empty when the worker is unknown (it must register again). */
    public Optional<WorkerCommand> heartbeat(WorkerBeat beat) {
        if (beat.epoch() != 0) epochs.observe(beat.epoch());
        Optional<WorkerCommand> command = registry.heartbeat(beat);
        if (command.isEmpty()) return command;
        if (!beat.linkError().isEmpty()) {
            post(() -> pipelineOf(beat.workerId()).filter(p -> p.epoch == beat.epoch())
                    .ifPresent(p -> markBroken(p, "worker " + beat.workerId() + " reports: " + beat.linkError(),
                            nextStage(p, beat.workerId()))));
        }
        if (beat.drainRequested()) {
            post(() -> leave(beat.workerId(), "its process is stopping"));
        }
        return command;
    }

    /** A last stage's result: straight to its pipeline's runner (which drops other epochs). */
    public void onStepResult(StepOutcome r) {
        for (PipelineRunner runner : allRunners()) {
            if (runner.pipelineId() == r.pipelineId()) {
                runner.onStepResult(r);
                return;
            }
        }
    }

    /** A last stage's result stream broke. */
    public void onResultStreamBroken(int pipelineId, long epoch, String reason) {
        post(() -> {
            PipelineRecord p = pipelines.get(pipelineId);
            if (p != null && p.epoch == epoch) markBroken(p, reason, p.plan.stages().getLast().workerId());
        });
    }

    /** Places a sequence on the least-loaded serving pipeline it fits, or queues it until one can take it. */
    public void submit(ClusterSequence s) {
        if (!tryPlace(s)) {
            post(() -> {
                placement.queue(s, clock.getAsLong());
                dispatch();
            });
        }
    }

    /** Cancels a sequence wherever it is (its owner already knows it is cancelled). */
    public void cancel(ClusterSequence s) {
        for (PipelineRunner r : allRunners()) r.cancel(s);
        post(() -> {
            if (pending.remove(s)) s.onFinished(dev.shardline.model.engine.FinishReason.CANCELLED);
        });
    }

    /** Sets the pipeline count to aim for (0 = as many as the workers allow). */
    public CompletableFuture<ClusterStatus> setTarget(int pipelines) {
        CompletableFuture<ClusterStatus> done = new CompletableFuture<>();
        post(() -> {
            target = pipelines;
            log.accept("target pipelines: " + (pipelines == 0 ? "as many as the workers allow" : pipelines));
            reconcile();
            done.complete(buildStatus());
        });
        return done;
    }

    /**
     * Drains a worker: its pipeline drains (or, in the pool, it leaves at once); the worker's process then stops.
     * Completes with the pipeline being drained (-1 for a pool worker); fails for an unknown worker.
     */
    public CompletableFuture<Integer> drainWorker(String workerId, long deadlineMillis) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        post(() -> {
            if (registry.get(workerId).isEmpty()) {
                done.completeExceptionally(new IllegalArgumentException("no worker " + workerId + " is registered"));
                return;
            }
            Optional<PipelineRecord> p = pipelineOf(workerId);
            p.ifPresent(r -> r.drainMillis = deadlineMillis);
            leave(workerId, "an admin drained it");
            done.complete(p.map(r -> r.id).orElse(-1));
        });
        return done;
    }

    /** Drains a whole pipeline; its workers go back to the pool. Fails for an unknown pipeline. */
    public CompletableFuture<Integer> drainPipeline(int pipelineId, long deadlineMillis) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        post(() -> {
            PipelineRecord p = pipelines.get(pipelineId);
            if (p == null) {
                done.completeExceptionally(new IllegalArgumentException("no pipeline " + pipelineId + " is running"));
                return;
            }
            p.drainAsked = true;
            p.drainMillis = deadlineMillis;
            reconcile();
            done.complete(p.runner == null ? 0 : p.runner.load());
        });
        return done;
    }

    // ---- outputs ----

    public ClusterStatus status() {
        return status;
    }

    /** Whether a micro-batch went through every stage of a serving pipeline within the readiness window. */
    public boolean ready() {
        long now = clock.getAsLong();
        for (PipelineRunner r : routable) {
            if (now - r.lastStepNanos() <= settings.readinessWindowMillis() * 1_000_000L) return true;
        }
        return false;
    }

    /** The largest KV cache (tokens) of a pipeline serving or forming now; 0 when there is none. */
    public long maxKvTokens() {
        long best = 0;
        for (ClusterStatus.Pipeline p : status.pipelines()) {
            if (p.state() == PipelineState.SERVING || p.state() == PipelineState.FORMING) {
                best = Math.max(best, (long) p.kvBlocks() * p.blockSize());
            }
        }
        return best;
    }

    /** Requests queued and not admitted anywhere: in the cluster's queue and in the pipelines' queues. */
    public int waitingCount() {
        int n = pending.size();
        for (PipelineRunner r : routable) n += r.snapshot().waiting();
        return n;
    }

    public int maxWaiting() {
        return settings.maxWaiting();
    }

    /** A consumer fell behind and its request was cancelled (counted for status). */
    public void countSlowConsumer() {
        counters.slowConsumers.incrementAndGet();
    }

    // ---- the event loop ----

    private void post(Runnable event) {
        events.add(event);
        if (thread != null) LockSupport.unpark(thread);
    }

    private void loop() {
        long nextTick = clock.getAsLong();
        while (!closed) {
            runPending();
            long now = clock.getAsLong();
            if (now >= nextTick) {
                tick();
                nextTick = now + TICK_NANOS;
            }
            if (events.isEmpty()) LockSupport.parkNanos(this, Math.max(1, nextTick - clock.getAsLong()));
        }
    }

    /** Handles every queued event, then reconciles and dispatches (tests call this directly). */
    public void runPending() {
        boolean any = false;
        Runnable e;
        while ((e = events.poll()) != null) {
            try {
                e.run();
            } catch (RuntimeException ex) {
                log.accept("cluster event failed: " + ex);
            }
            any = true;
        }
        if (any) {
            reconcile();
            dispatch();
            status = buildStatus();
        }
    }

    /** The timer: lost workers, drain deadlines, queue timeouts, canaries (tests call this directly). */
    public void tick() {
        java.util.Set<String> loading = new java.util.HashSet<>();
        for (PipelineRecord p : pipelines.values()) {
            if (p.state == PipelineState.FORMING) loading.addAll(p.loading);
        }
        for (String id : registry.sweep(loading)) {
            RegisteredWorker.Snapshot w = registry.get(id).orElseThrow();
            if (w.leaving() != null && w.pipelineId() < 0) {
                registry.remove(id);                                  // a drained worker that stopped, as told
                log.accept("worker " + id + " left the cluster");
            } else {
                log.accept("worker " + id + " lost (no heartbeat for " + w.lastHeardAgeMillis() + " ms)");
            }
        }
        long now = clock.getAsLong();
        for (PipelineRecord p : pipelines.values()) {
            if (p.state == PipelineState.SERVING && p.runner.isEmpty()
                    && now - p.runner.lastStepNanos() > settings.canaryIntervalMillis() * 1_000_000L) {
                try {
                    p.runner.submit(new CanarySequence(p.id));
                } catch (RuntimeException ignored) {
                    // it stopped accepting meanwhile
                }
            }
        }
        reconcile();
        dispatch();
        status = buildStatus();
    }

    private void reconcile() {
        for (int round = 0; round < 16; round++) {
            List<Action> actions = DesiredCluster.decide(view(), settings.plan());
            if (actions.isEmpty()) return;
            for (Action a : actions) apply(a);
        }
    }

    /** Whether a new pipeline waits: a serving one re-prefills moved sequences ({@link FormDeferral}). */
    private boolean deferForming(long now) {
        boolean absorbing = false;
        for (PipelineRecord p : pipelines.values()) {
            if (p.state == PipelineState.SERVING && p.runner != null && p.runner.resumingMoved()) absorbing = true;
        }
        return deferral.defer(absorbing, now);
    }

    /** Tests: how long forming may wait for moved sequences (0: never waits). */
    void formDeferralNanos(long nanos) {
        deferral.maxNanos(nanos);
    }

    private ClusterView view() {
        long now = clock.getAsLong();
        List<WorkerView> workers = new ArrayList<>();
        for (RegisteredWorker.Snapshot w : registry.all()) {
            workers.add(new WorkerView(w.id(), w.record().memoryBudgetBytes(), w.record().relativeSpeed(), !w.lost(),
                    w.leaving() != null, w.assignable(), w.held() == null ? null : w.held().range(),
                    w.record().kvBytesPerElement()));
        }
        List<PipelineView> views = new ArrayList<>();
        for (PipelineRecord p : pipelines.values()) {
            boolean empty = p.runner == null || p.runner.isEmpty();
            views.add(new PipelineView(p.id, p.state, p.workers(), p.runner == null ? 0 : p.runner.load(), empty,
                    p.state == PipelineState.DRAINING && now >= p.drainDeadlineNanos, p.drainAsked, p.broken));
        }
        // the first plan waits for the expected workers to be ready (registered, heard from, assignable): one that a
        // loaded host kept silent past the timeout would otherwise be planned around, for the life of the pipeline
        long ready = workers.stream().filter(w -> w.alive() && w.assignable() && !w.leaving()).count();
        boolean mayForm = formedOnce || ready >= settings.expectedWorkers()
                || now - startNanos >= settings.startupWaitMillis() * 1_000_000L;
        return new ClusterView(workers, views, target, mayForm && !deferForming(now));
    }

    private void apply(Action a) {
        switch (a) {
            case Action.Fail f -> fail(pipelines.get(f.pipelineId()), f.reason());
            case Action.Drain d -> drain(pipelines.get(d.pipelineId()), d.reason());
            case Action.Evacuate e -> evacuate(pipelines.get(e.pipelineId()));
            case Action.Retire r -> retire(pipelines.get(r.pipelineId()));
            case Action.Form f -> form(f.plan(), f.reuse());
        }
    }

    // ---- actions ----

    private void form(PipelinePlan plan, boolean reuse) {
        int id = nextPipelineId++;
        long epoch = epochs.next();
        long cap = settings.maxKvBlocks();
        int kvBlocks = (int) Math.max(1, Math.min(cap, plan.kvCapacityTokens() / settings.blockSize()));
        PipelineRecord p = new PipelineRecord(id, epoch, plan, kvBlocks, reuse, clock.getAsLong());
        pipelines.put(id, p);
        formedOnce = true;
        counters.formed++;
        log.accept("pipeline " + id + " forming (epoch " + Epochs.format(epoch) + (reuse ? ", layers already loaded" : "")
                + "):\n" + describe(p));
        List<StagePlan> stages = plan.stages();
        for (int i = 0; i < stages.size(); i++) {
            StagePlan s = stages.get(i);
            registry.placed(s.workerId(), id, epoch);
            WorkerRecord w = registry.record(s.workerId()).orElseThrow();
            String next = i == stages.size() - 1 ? null : registry.record(stages.get(i + 1).workerId()).orElseThrow().address();
            StageAssignment sa = new StageAssignment(id, epoch, i, stages.size(), s.range(), settings.modelDir(),
                    settings.modelFingerprint(), kvBlocks, settings.blockSize(), settings.activations(),
                    settings.maxMessageBytes(), next, coordinatorAddress, settings.sampleVocabLimit());
            boolean sameLayers = registry.get(w.id()).map(x -> x.held() != null && x.held().range().equals(s.range()))
                    .orElse(false);
            transport.assign(w, sa, line -> log.accept("[" + w.id() + "] " + line)).whenComplete((loaded, error) ->
                    post(() -> stageLoaded(p, w.id(), sa, !sameLayers, loaded, error)));
        }
    }

    private void stageLoaded(PipelineRecord p, String workerId, StageAssignment a, boolean reload, StageLoaded loaded,
                             Throwable error) {
        if (p.state != PipelineState.FORMING || pipelines.get(p.id) != p) return;
        if (error != null) {
            String why = error instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause().getMessage() : error.getMessage();
            registry.assignFailed(workerId, settings.assignRestMillis());
            markBroken(p, "assigning " + a.range() + " to " + workerId + " failed: " + why, null);
            return;
        }
        registry.loaded(workerId, new HeldAssignment(p.id, p.epoch, a.range(), a.kvBlocks(), a.blockSize()));
        log.accept(workerId + (reload ? " loaded " : " kept its loaded ") + a.range() + " for pipeline " + p.id);
        p.loading.remove(workerId);
        log.accept(workerId + " ready for pipeline " + p.id + ": KV for " + loaded.kvCapacityTokens() + " tokens");
        if (!p.loading.isEmpty()) return;
        SchedulerConfig sc = new SchedulerConfig(p.plan.stageCount(), settings.tokenBudget(), settings.maxRunning(),
                p.kvBlocks, settings.blockSize(), settings.plan().model().maxPositionEmbeddings());
        PipelineRunner runner = new PipelineRunner(p.id, p.epoch, sc, settings.activations(), new RunnerEvents(), clock);
        WorkerRecord first = registry.record(p.plan.stages().getFirst().workerId()).orElseThrow();
        p.runner = runner;
        runner.start(transport.openStage0(first, p.id, p.epoch, runner.linkListener()), threaded);
        p.state = PipelineState.SERVING;
        refreshRoutable();
        log.accept(String.format("pipeline %d serving: %d stage(s), %d KV blocks of %d tokens, formed in %.1f s", p.id,
                p.plan.stageCount(), p.kvBlocks, settings.blockSize(), (clock.getAsLong() - p.formedNanos) / 1e9));
    }

    private void fail(PipelineRecord p, String reason) {
        p.state = PipelineState.FAILED;
        p.reason = reason;
        List<ClusterSequence> orphans = List.of();
        if (p.runner != null) {
            orphans = p.runner.fail(reason);
            p.runner.close();
        }
        pipelines.remove(p.id);
        failed.addFirst(p);
        while (failed.size() > 8) failed.removeLast();
        counters.failed++;
        epochs.next();
        for (String w : p.workers()) {
            registry.placed(w, -1, 0);
            if (registry.get(w).map(x -> x.leaving() != null).orElse(false)) registry.exit(w);
        }
        refreshRoutable();
        log.accept("pipeline " + p.id + " failed: " + reason + "; " + orphans.size() + " sequence(s) migrate");
        requeue(p.id, orphans, ClusterSequence.MigrationCause.FAILURE);
    }

    private void drain(PipelineRecord p, String reason) {
        p.state = PipelineState.DRAINING;
        p.reason = reason;
        long ms = p.drainMillis > 0 ? p.drainMillis : settings.drainTimeoutMillis();
        p.drainDeadlineNanos = clock.getAsLong() + ms * 1_000_000L;
        epochs.next();
        refreshRoutable();
        List<ClusterSequence> queued = p.runner.stopAccepting();
        log.accept("pipeline " + p.id + " draining (" + reason + "): " + p.runner.load() + " running sequence(s) get "
                + ms + " ms to finish" + (queued.isEmpty() ? "" : ", " + queued.size() + " queued move now"));
        requeue(p.id, queued, ClusterSequence.MigrationCause.DRAIN);
    }

    private void evacuate(PipelineRecord p) {
        if (p.evacuating) return;
        p.evacuating = true;
        log.accept("pipeline " + p.id + ": drain deadline passed, " + p.runner.load() + " sequence(s) migrate");
        p.runner.evacuate();
    }

    private void retire(PipelineRecord p) {
        p.runner.close();
        pipelines.remove(p.id);
        counters.drained++;
        epochs.next();
        for (String w : p.workers()) {
            registry.placed(w, -1, 0);
            if (registry.get(w).map(x -> x.leaving() != null).orElse(false)) registry.exit(w);
        }
        refreshRoutable();
        log.accept("pipeline " + p.id + " drained and retired; its workers " + p.workers() + " left it");
    }

    private void leave(String workerId, String reason) {
        registry.leaving(workerId, reason);
        Optional<PipelineRecord> p = pipelineOf(workerId);
        if (p.isEmpty()) {
            registry.exit(workerId);                            // in the pool: nothing to drain
            log.accept("worker " + workerId + " leaves the pool (" + reason + ")");
        } else if (p.get().state == PipelineState.FORMING) {
            markBroken(p.get(), "worker " + workerId + " is leaving while its pipeline formed", null);
            registry.exit(workerId);
        }
    }

    /**
     * The pipeline must fail. {@code suspect}: the worker at the far end of the link that broke (it may be dead
     * before its heartbeats tell): it is not planned into a new pipeline until it heartbeats again.
     */
    private void markBroken(PipelineRecord p, String reason, String suspect) {
        if (p.broken == null) p.broken = reason;
        if (suspect != null) registry.suspect(suspect);
    }

    /** The worker after {@code workerId} in the pipeline, or null for its last stage. */
    private static String nextStage(PipelineRecord p, String workerId) {
        List<String> ws = p.workers();
        int i = ws.indexOf(workerId);
        return i >= 0 && i + 1 < ws.size() ? ws.get(i + 1) : null;
    }

    // ---- sequences ----

    private void requeue(int fromPipeline, List<ClusterSequence> sequences, ClusterSequence.MigrationCause cause) {
        placement.requeue(fromPipeline, sequences, cause, clock.getAsLong());
        dispatch();
    }

    private boolean tryPlace(ClusterSequence s) {
        return Placement.tryPlace(routable, s);
    }

    private void dispatch() {
        placement.dispatch(routable, clock.getAsLong(), this::unavailableCause);
    }

    /** Why nothing serves a sequence now, in words. */
    private String unavailableCause(ClusterSequence s) {
        StringBuilder sb = new StringBuilder();
        long servingCount = pipelines.values().stream().filter(p -> p.state == PipelineState.SERVING).count();
        long forming = pipelines.values().stream().filter(p -> p.state == PipelineState.FORMING).count();
        if (servingCount > 0) {
            sb.append("no serving pipeline fits its prompt + max_tokens (").append(s.request().maxLength()).append(" tokens)");
        } else {
            sb.append("no pipeline is serving");
            if (forming > 0) sb.append(" (").append(forming).append(" still loading)");
        }
        if (!failed.isEmpty()) {
            PipelineRecord last = failed.peekFirst();
            sb.append("; last failure: pipeline ").append(last.id).append(": ").append(last.reason);
        }
        List<String> pool = poolIds();
        sb.append("; ").append(pool.size()).append(" worker(s) in the pool");
        if (!pool.isEmpty() && forming == 0) {
            sb.append(" cannot form a pipeline");
        }
        return sb.toString();
    }

    // ---- helpers ----

    private Optional<PipelineRecord> pipelineOf(String workerId) {
        for (PipelineRecord p : pipelines.values()) {
            if (p.workers().contains(workerId)) return Optional.of(p);
        }
        return Optional.empty();
    }

    private List<String> poolIds() {
        List<String> pool = new ArrayList<>();
        for (RegisteredWorker.Snapshot w : registry.all()) {
            if (!w.lost() && w.pipelineId() < 0 && w.leaving() == null) pool.add(w.id());
        }
        return pool;
    }

    private void refreshRoutable() {
        List<PipelineRunner> r = new ArrayList<>();
        for (PipelineRecord p : pipelines.values()) {
            if (p.state == PipelineState.SERVING && p.runner != null) r.add(p.runner);
        }
        routable = List.copyOf(r);
        allRunners = pipelines.values().stream().filter(p -> p.runner != null).map(p -> p.runner).toList();
    }

    private volatile List<PipelineRunner> allRunners = List.of();

    private List<PipelineRunner> allRunners() {
        return allRunners;
    }

    private String describe(PipelineRecord p) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < p.plan.stages().size(); i++) {
            StagePlan s = p.plan.stages().get(i);
            sb.append(String.format("  stage %d: %s %s, %.2f GB%n", i, s.workerId(), s.range(), s.weightBytes() / 1e9));
        }
        return sb.append(String.format("  KV %d blocks of %d tokens", p.kvBlocks, settings.blockSize())).toString();
    }

    private ClusterStatus buildStatus() {
        List<ClusterStatus.Pipeline> out = new ArrayList<>();
        for (PipelineRecord p : pipelines.values()) out.add(pipelineStatus(p));
        for (PipelineRecord p : failed) out.add(pipelineStatus(p));
        return new ClusterStatus(epochs.current(), target, out, registry.all(), poolIds(), pending.size(),
                pending.tokens(), counters.snapshot(), ready());
    }

    private ClusterStatus.Pipeline pipelineStatus(PipelineRecord p) {
        PipelineRunner r = p.state == PipelineState.FAILED ? null : p.runner;
        return new ClusterStatus.Pipeline(p.id, p.epoch, p.state, p.plan.stages(), p.kvBlocks, settings.blockSize(),
                p.reason, r == null ? null : r.snapshot(), r);
    }

    @Override
    public void close() {
        closed = true;
        if (thread != null) {
            LockSupport.unpark(thread);
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (PipelineRecord p : pipelines.values()) {
            if (p.runner != null) p.runner.close();
        }
        transport.close();
    }

    /** Runner events become cluster events, handled on the reconciler's thread. */
    private final class RunnerEvents implements PipelineRunner.Events {
        @Override
        public void onBroken(int pipelineId, long epoch, String reason) {
            post(() -> {
                PipelineRecord p = pipelines.get(pipelineId);
                if (p != null && p.epoch == epoch) markBroken(p, reason, p.plan.stages().getFirst().workerId());
            });
        }

        @Override
        public void onEvacuated(int pipelineId, List<ClusterSequence> sequences) {
            post(() -> requeue(pipelineId, sequences, ClusterSequence.MigrationCause.DRAIN));
        }

        @Override
        public void onChanged(int pipelineId) {
            post(() -> { });
        }
    }
}
