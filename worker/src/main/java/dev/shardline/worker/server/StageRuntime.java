package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.LoadProgress;
import dev.shardline.model.sampling.TokenLogprob;
import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.FreeRequest;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.MappingProgress;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.SampledToken;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageReady;
import dev.shardline.proto.stage.v1.StageStatus;
import dev.shardline.proto.stage.v1.StageTiming;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.proto.stage.v1.WorkerState;
import dev.shardline.proto.stage.v1.codec.ActivationCodec;
import dev.shardline.proto.stage.v1.codec.EncodedActivations;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.server.InboundStream.MicroBatch;
import dev.shardline.worker.stage.SampledResult;
import dev.shardline.worker.stage.StageEntry;
import dev.shardline.worker.stage.StageOutput;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A worker's stage, without the gRPC plumbing: the layers it holds, the current assignment, the inbox of received
 * micro-batches and the ONE compute thread that takes them in order, acknowledges each (returning a credit upstream),
 * runs it through the {@code StageExecutor}, and sends the result on: activations to the next stage (blocking for its
 * credit: the back-pressure), or a StepResult to the coordinator from the last stage. A failing step is reported in
 * the header or StepResult, never fatal.
 *
 * <p>Life cycle of an assignment: Assign loads the layers, or reuses the held ones when the model and layer range
 * are the same ({@link LoadedLayers#holds}); RELEASE ends the assignment's streams and sequences but keeps the
 * layers (the worker is back in the pool); RELOAD and close drop everything. A broken downstream link of the current
 * assignment is kept as the heartbeat's {@code link_error} until a heartbeat delivered it.
 */
final class StageRuntime implements InboundStream.Sink, AutoCloseable {
    /** Micro-batches an upstream sender may have unacknowledged: one queued while one computes. */
    static final int CREDIT = 2;

    private final String workerId;
    private final WorkerConfig cfg;
    private final String fingerprint;
    private final Consumer<String> log;
    private final Object computeLock = new Object();   // held while a step computes and while the assignment changes
    private final Object assignLock = new Object();    // one Assign at a time
    private final LinkedBlockingQueue<MicroBatch> inbox = new LinkedBlockingQueue<>(); // bounded by CREDIT per stream
    private final Set<InboundStream> streams = ConcurrentHashMap.newKeySet();
    private final Thread computeThread;
    private final AtomicLong weightLoads = new AtomicLong();
    private volatile LoadedLayers layers;              // kept across RELEASE and same-range Assigns
    private volatile LayerAssignment held;             // the assignment the layers (and KV cache) were set up for
    private volatile LayerAssignment assigned;         // being loaded or served; null after a release
    private volatile ActiveStage active;
    private volatile WorkerState state = WorkerState.WORKER_STATE_IDLE;
    private volatile String lastError = "";
    private volatile String linkError;                 // a broken link of the current assignment, not yet reported
    private volatile Runnable beatNow = () -> { };
    private volatile boolean running = true;
    private volatile boolean computing;
    private volatile Runnable onDrained;
    private volatile Consumer<String> onBackendFailed = why -> { };

    StageRuntime(String workerId, WorkerConfig cfg, String fingerprint, Consumer<String> log) {
        this.workerId = workerId;
        this.cfg = cfg;
        this.fingerprint = fingerprint;
        this.log = log;
        this.computeThread = Thread.ofPlatform().name("shardline-compute-" + workerId).daemon(true)
                .unstarted(this::computeLoop);
    }

    void start() {
        computeThread.start();
    }

    /** Who sends a heartbeat at once when a link breaks (the coordinator session). */
    void onLinkError(Runnable beatNow) {
        this.beatNow = beatNow;
    }

    /** Who stops the process when the backend failed for good (a sticky CUDA error). */
    void onBackendFailed(Consumer<String> stop) {
        this.onBackendFailed = stop;
    }

    WorkerState state() {
        return state;
    }

    ActiveStage active() {
        return active;
    }

    /** Times this process loaded weights (an Assign that reused the held layers does not count). */
    long weightLoads() {
        return weightLoads.get();
    }

    /** The assignment whose layers and KV cache this worker holds (also after a release), or null. */
    LayerAssignment heldAssignment() {
        return held;
    }

    // ---- Assign, release ----

    /**
     * Validates, ends the previous assignment, then reuses the held layers when they are the ones asked for, or
     * loads them (progress goes to the Assign stream), and connects downstream.
     */
    StageReady assign(LayerAssignment a, Consumer<MappingProgress> progress) throws AssignException, InterruptedException {
        synchronized (assignLock) {
            AssignmentPlan plan = AssignmentPlan.check(a, cfg, fingerprint);
            endActive("replaced by a new assignment", null);
            assigned = a;
            String where = "pipeline " + a.getPipelineId() + " epoch " + a.getPlanEpoch() + " stage " + a.getStageIndex()
                    + "/" + a.getStageCount() + ": " + plan.range();
            try {
                LoadedLayers l = takeLayersFor(plan);
                if (l != null) {
                    boolean newKv = l.ensureKv(a.getKvBlocks(), a.getBlockSize());
                    log.accept("assigned " + where + ": reusing the loaded layers (weight loads stay "
                            + weightLoads.get() + "), KV cache " + (newKv ? "allocated again: " : "kept: ")
                            + a.getKvBlocks() + " x " + a.getBlockSize() + " tokens");
                } else {
                    state = WorkerState.WORKER_STATE_LOADING;
                    log.accept("assigned " + where + ": loading " + Bytes.format(plan.weightBytes())
                            + " of weights (weight load " + (weightLoads.get() + 1) + "), KV " + a.getKvBlocks() + " x "
                            + a.getBlockSize() + " tokens (" + Bytes.format(plan.kvBytes()) + "), next: "
                            + (plan.last() ? "coordinator at " + plan.coordinatorAddress() : a.getNextStageAddress()));
                    l = LoadedLayers.load(plan, cfg, p -> progress(plan, p, progress), log);
                    weightLoads.incrementAndGet();
                }
                synchronized (computeLock) {
                    layers = l;
                    held = a;
                }
                if (!running) {
                    throw new AssignException(Status.Code.UNAVAILABLE, "worker " + workerId + " is stopping");
                }
                ActiveStage s = ActiveStage.open(plan, l, why -> linkBroken(a, why), log);
                synchronized (computeLock) {
                    active = s;
                    state = WorkerState.WORKER_STATE_READY;
                    lastError = "";
                }
                log.accept("stage " + a.getStageIndex() + " ready: " + plan.range() + ", "
                        + Bytes.format(plan.weightBytes()) + " of weights, KV cache " + plan.kvCapacityTokens() + " tokens");
                return StageReady.newBuilder()
                        .setKvCapacityTokens(plan.kvCapacityTokens())
                        .setWeightBytes(plan.weightBytes())
                        .setKvBytes(plan.kvBytes())
                        .build();
            } catch (AssignException e) {
                assigned = null;
                state = WorkerState.WORKER_STATE_FAILED;
                lastError = e.getMessage();
                log.accept("assignment failed: " + e.getMessage());
                throw e;
            }
        }
    }

    /** The held layers when they are the plan's (null otherwise, after closing them). */
    private LoadedLayers takeLayersFor(AssignmentPlan plan) {
        LoadedLayers old;
        synchronized (computeLock) {
            old = layers;
            if (old != null && old.holds(plan)) {
                return old;
            }
            layers = null;
            held = null;
        }
        if (old != null) {
            old.close();
            log.accept("released the layers " + old.range() + " to load " + plan.range());
        }
        return null;
    }

    private void progress(AssignmentPlan plan, LoadProgress p, Consumer<MappingProgress> out) {
        log.accept("loading layers [" + plan.range().start() + ", " + plan.range().end() + "): " + p.layersDone() + "/"
                + p.layersTotal() + ", " + Bytes.progress(p.bytesMapped(), p.bytesTotal()));
        out.accept(MappingProgress.newBuilder()
                .setLayersDone(p.layersDone())
                .setLayersTotal(p.layersTotal())
                .setBytesMapped(p.bytesMapped())
                .setBytesTotal(p.bytesTotal())
                .setCurrentTensor(p.currentTensor())
                .build());
    }

    /**
     * WORKER_COMMAND_RELEASE: when the assignment in service has that plan epoch, ends its Forward streams, its link
     * downstream and its sequences, keeping the layers and the KV cache (an Assign of the same layers reuses them).
     * Another epoch is ignored: a late command never releases a newer assignment.
     */
    void release(long epoch, String reason) {
        ActiveStage old = endActive("released by the coordinator" + (reason.isEmpty() ? "" : " (" + reason + ")"), epoch);
        if (old == null) {
            LayerAssignment a = assigned;
            log.accept("ignoring a release of plan epoch " + epoch + ": this worker " + (a == null
                    ? "serves no assignment" : (active == null ? "is loading" : "serves") + " plan epoch " + a.getPlanEpoch()));
            return;
        }
        log.accept("back in the pool, holding layers " + old.plan.range() + " and a KV cache of "
                + old.assignment().getKvBlocks() + " x " + old.assignment().getBlockSize() + " tokens");
    }

    /** RELOAD: ends the assignment (if any) and releases the layers too. */
    void unassign(String reason) {
        endActive(reason, null);
        LoadedLayers old;
        synchronized (computeLock) {
            old = layers;
            layers = null;
            held = null;
        }
        if (old != null) {
            old.close();
            log.accept("released the layers " + old.range());
        }
    }

    /**
     * Ends the assignment in service (only when its plan epoch is onlyEpoch, if given): its Forward streams end
     * with UNAVAILABLE, its queued micro-batches go, its links close and its sequences are forgotten. Returns it, or
     * null when there was none (or it had another epoch).
     */
    private ActiveStage endActive(String reason, Long onlyEpoch) {
        ActiveStage old;
        synchronized (computeLock) {
            old = active;
            if (old == null || (onlyEpoch != null && old.epoch() != onlyEpoch)) {
                return null;
            }
            active = null;
            assigned = null;
            linkError = null;
            if (state != WorkerState.WORKER_STATE_DRAINING) {
                state = WorkerState.WORKER_STATE_IDLE;
            }
        }
        for (InboundStream s : streams) {
            if (s.stage() == old) {
                s.fail(Status.UNAVAILABLE.withDescription("worker " + workerId + ": assignment " + reason));
            }
        }
        inbox.removeIf(mb -> mb.from().stage() == old);
        old.close();
        log.accept("ended the assignment of pipeline " + old.assignment().getPipelineId() + " epoch " + old.epoch()
                + " stage " + old.stageIndex() + ": " + reason);
        return old;
    }

    /**
     * The backend failed for good (a sticky CUDA error: the context is corrupted until the process ends). The worker
     * leaves its pipeline: the assignment ends and its Forward streams end with UNAVAILABLE naming the failure, so
     * the stage before it (or the coordinator) reports the broken link and the coordinator fails the pipeline and
     * moves its sequences; the layers are released, the heartbeat reports WORKER_STATE_FAILED with the message, and
     * the process stops (its supervisor starts a fresh one).
     */
    private void leaveAfterBackendFailure(ActiveStage a, String why) {
        log.accept("the backend failed: " + why + "; leaving pipeline " + a.assignment().getPipelineId()
                + " (its sequences move to another pipeline) and stopping this worker");
        endActive("the backend failed: " + why, null);
        unassign("the backend failed");
        synchronized (computeLock) {
            state = WorkerState.WORKER_STATE_FAILED;
            lastError = why;
        }
        beatNow.run();
        onBackendFailed.accept(why);
    }

    /** A link of assignment a broke: news for the coordinator when a is still the one in service. */
    private void linkBroken(LayerAssignment a, String why) {
        ActiveStage s = active;
        if (s != null && s.assignment() == a) {
            linkError = why;
            beatNow.run();
        }
    }

    /** The heartbeat that carried this link error was answered: clear it unless a newer one came meanwhile. */
    void linkErrorDelivered(String sent) {
        if (!sent.isEmpty() && sent.equals(linkError)) {
            linkError = null;
        }
    }

    // ---- Forward ----

    /** Accepts a Forward stream and grants it credit. */
    InboundStream openStream(StreamObserver<StageAck> acks) {
        synchronized (computeLock) {
            if (state == WorkerState.WORKER_STATE_DRAINING) {
                throw Status.UNAVAILABLE.withDescription("worker " + workerId + " is draining").asRuntimeException();
            }
            ActiveStage a = active;
            if (a == null || state != WorkerState.WORKER_STATE_READY) {
                throw Status.FAILED_PRECONDITION.withDescription("worker " + workerId + " has no assignment (state "
                        + state + ")").asRuntimeException();
            }
            InboundStream s = new InboundStream(a, acks, CREDIT, this);
            streams.add(s);
            s.grant();
            return s;
        }
    }

    @Override
    public void enqueue(MicroBatch mb) {
        inbox.add(mb);
    }

    @Override
    public void ended(InboundStream stream, String why) {
        streams.remove(stream);
        if (why != null) {
            inbox.removeIf(mb -> mb.from() == stream);
            log.accept("a Forward stream into this stage ended: " + why);
        }
    }

    private void computeLoop() {
        while (running) {
            MicroBatch mb;
            try {
                mb = inbox.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                continue;
            }
            if (mb == null) {
                checkDrained();
                continue;
            }
            computing = true;
            try {
                process(mb);
            } catch (InterruptedException e) {
                // close() stops the loop; an interrupted send is dropped
            } catch (RuntimeException e) {
                log.accept("step " + mb.header().getStepId() + ": unexpected failure: " + e);
            } finally {
                computing = false;
            }
        }
    }

    private void process(MicroBatch mb) throws InterruptedException {
        long taken = System.nanoTime();
        InboundStream from = mb.from();
        ActiveStage a = from.stage();
        MicroBatchHeader h = mb.header();
        long step = h.getStepId();
        if (a != active || from.isDone()) {
            return; // its stream failed or the assignment changed: nobody waits for it
        }
        String refusal = a.refusal(h);
        from.ack(step, refusal == null, refusal);
        String error = !h.getError().isEmpty() ? h.getError() : refusal;
        StageOutput out = null;
        String backendFailure = null;
        long start = System.nanoTime();
        synchronized (computeLock) {
            if (active != a) return;
            List<Long> finished = h.getFinishedSequenceIdsList();
            a.book.forget(finished);
            if (error == null) {
                try {
                    List<StageEntry> entries = ProtoMapping.entries(h, a.plan.config().vocabSize(), a.assignment().getKvBlocks(),
                            a.assignment().getBlockSize());
                    for (StageEntry e : entries) {
                        a.book.seen(e.sequenceId(), e.blockTable());
                    }
                    out = a.executor.execute(entries, mb.hidden(), finished);
                } catch (RuntimeException e) {
                    error = "stage " + a.stageIndex() + " (" + workerId + "): " + (e.getMessage() == null
                            ? e.getClass().getSimpleName() : e.getMessage());
                    log.accept("step " + step + " failed: " + error);
                    backendFailure = BackendFailure.of(e, cfg.backend());
                }
            } else {
                a.executor.forget(finished);
            }
        }
        if (backendFailure != null) {
            leaveAfterBackendFailure(a, backendFailure);    // the step is not reported: its sequences migrate
            return;
        }
        long computeNanos = System.nanoTime() - start;
        a.stats.computed(computeNanos);
        StageTiming.Builder timing = StageTiming.newBuilder()
                .setStageIndex(a.stageIndex())
                .setQueueMs(ms(taken - mb.receivedNanos()))
                .setComputeMs(ms(computeNanos));
        try {
            if (a.last()) {
                report(a, h, out, error, timing);
            } else {
                forward(a, h, out, error, timing);
            }
        } catch (LinkException e) {
            log.accept("step " + step + " dropped: " + e.getMessage());
        }
    }

    private void forward(ActiveStage a, MicroBatchHeader h, StageOutput out, String error, StageTiming.Builder timing)
            throws LinkException, InterruptedException {
        long waited = a.next.awaitCredit();
        MicroBatchHeader.Builder b = h.toBuilder().addTimings(timing.setSendWaitMs(ms(waited)));
        List<ActivationChunk> chunks = List.of();
        if (error == null) {
            EncodedActivations enc = ActivationCodec.encode(h.getStepId(), out.hidden(), out.rows(),
                    a.plan.config().hiddenSize(), a.plan.dtype(), a.plan.maxMessageBytes());
            enc.describe(b);
            chunks = enc.chunks();
        } else {
            b.setError(error).setHiddenDtype(ActivationDtype.ACTIVATION_DTYPE_UNSPECIFIED).setHiddenRows(0)
                    .setHiddenCols(0).setActivationBytes(0).setChunkCount(0);
        }
        a.next.send(b.build(), chunks, a.stats);
    }

    private void report(ActiveStage a, MicroBatchHeader h, StageOutput out, String error, StageTiming.Builder timing)
            throws LinkException {
        StepResult.Builder r = StepResult.newBuilder()
                .setPipelineId(h.getPipelineId())
                .setPlanEpoch(h.getPlanEpoch())
                .setStepId(h.getStepId())
                .addAllTimings(h.getTimingsList())
                .addTimings(timing);
        if (error != null) {
            r.setError(error);
        } else {
            for (SampledResult s : out.sampled()) {
                SampledToken.Builder t = SampledToken.newBuilder().setSequenceId(s.sequenceId()).setTokenId(s.tokenId())
                        .setLogprob(s.logprob());
                for (TokenLogprob alt : s.topLogprobs()) {
                    t.addTopLogprobs(dev.shardline.proto.stage.v1.TokenLogprob.newBuilder().setTokenId(alt.id())
                            .setLogprob(alt.logprob()));
                }
                r.addTokens(t);
            }
        }
        a.results.report(r.build());
    }

    private static double ms(long nanos) {
        return Math.max(0, nanos) / 1e6;
    }

    // ---- FreeSequences, status, heartbeat, drain ----

    /** Forgets the sequences' sampler state and bookkeeping; returns how many were known. */
    int free(FreeRequest req) {
        synchronized (computeLock) {
            ActiveStage a = active;
            if (a == null || a.assignment().getPipelineId() != req.getPipelineId()) {
                return 0;
            }
            a.executor.forget(req.getSequenceIdsList());
            return a.book.forget(req.getSequenceIdsList());
        }
    }

    StageStatus status() {
        ActiveStage a = active;
        StageStatus.Builder s = StageStatus.newBuilder().setWorkerId(workerId).setState(state);
        if (a != null) {
            s.setAssignment(a.assignment())
                    .setLoad(a.stats.sinceStart(inbox.size()))
                    .setLiveSequences(a.book.liveSequences())
                    .setKvBlocksUsed(a.book.blocksUsed());
        }
        return s.build();
    }

    /**
     * What a heartbeat reports: state, load, KV blocks used (by the sequences it knows) and allocated (also while
     * released: the worker still holds them), live sequences, the pipeline and plan epoch being served or loaded
     * (0 when none), weight loads, and a broken link not yet reported.
     */
    HeartbeatRequest heartbeat() {
        ActiveStage a = active;
        LayerAssignment current = assigned;
        LoadedLayers l = layers;
        HeartbeatRequest.Builder h = HeartbeatRequest.newBuilder().setWorkerId(workerId).setState(state)
                .setWeightLoads(weightLoads.get());
        if (a != null) {
            h.setLoad(a.stats.sinceLastBeat(inbox.size()))
                    .setKvBlocksUsed(a.book.blocksUsed())
                    .setLiveSequences(a.book.liveSequences());
        }
        if (l != null) {
            h.setKvBlocksTotal(l.cache().numBlocks());
        }
        if (current != null) {
            h.setPipelineId(current.getPipelineId()).setPlanEpoch(current.getPlanEpoch());
        }
        String broken = linkError;
        if (broken != null) {
            h.setLinkError(broken);
        }
        if (state == WorkerState.WORKER_STATE_FAILED) {
            h.setError(lastError);
        }
        return h.build();
    }

    /** Accepts no new Forward streams, finishes what is queued, then runs onDrained (once). */
    void drain(String reason, Runnable onDrained) {
        this.onDrained = onDrained;
        state = WorkerState.WORKER_STATE_DRAINING;
        log.accept("draining: " + reason);
    }

    private void checkDrained() {
        Runnable r = onDrained;
        if (r != null && inbox.isEmpty() && !computing) {
            onDrained = null;
            log.accept("drained: no micro-batches left");
            Thread.ofPlatform().name("shardline-drained-" + workerId).daemon(true).start(r);
        }
    }

    @Override
    public void close() {
        running = false;
        unassign("worker stopping");   // waits for a computing step, unblocks a send waiting for credit; frees the layers
        try {
            computeThread.join(TimeUnit.SECONDS.toMillis(5));
            if (computeThread.isAlive()) {
                computeThread.interrupt();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (InboundStream s : streams) {
            s.fail(Status.UNAVAILABLE.withDescription("worker " + workerId + " is stopping"));
        }
    }
}
