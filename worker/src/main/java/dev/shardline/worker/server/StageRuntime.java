package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.LoadProgress;
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
import java.util.function.Consumer;

/**
 * A worker's stage, without the gRPC plumbing: the current assignment, the inbox of received micro-batches and the
 * ONE compute thread that takes them in order, acknowledges each (returning a credit upstream), runs it through
 * the {@code StageExecutor}, and sends the result on: activations to the next stage (blocking for its credit: the
 * back-pressure), or a StepResult to the coordinator from the last stage. A failing step is reported in the header
 * or StepResult, never fatal.
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
    private volatile ActiveStage active;
    private volatile WorkerState state = WorkerState.WORKER_STATE_IDLE;
    private volatile String lastError = "";
    private volatile boolean running = true;
    private volatile boolean computing;
    private volatile Runnable onDrained;

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

    WorkerState state() {
        return state;
    }

    ActiveStage active() {
        return active;
    }

    // ---- Assign ----

    /** Validates, drops the previous assignment, loads the new one; progress goes to the Assign stream. */
    StageReady assign(LayerAssignment a, Consumer<MappingProgress> progress) throws AssignException, InterruptedException {
        synchronized (assignLock) {
            AssignmentPlan plan = AssignmentPlan.check(a, cfg, fingerprint);
            unassign("replaced by a new assignment");
            state = WorkerState.WORKER_STATE_LOADING;
            log.accept("assigned pipeline " + a.getPipelineId() + " epoch " + a.getPlanEpoch() + " stage "
                    + a.getStageIndex() + "/" + a.getStageCount() + ": " + plan.range() + ", "
                    + Bytes.format(plan.weightBytes()) + " of weights, KV " + a.getKvBlocks() + " x " + a.getBlockSize()
                    + " tokens (" + Bytes.format(plan.kvBytes()) + "), next: " + (plan.last()
                    ? "coordinator at " + plan.coordinatorAddress() : a.getNextStageAddress()));
            try {
                ActiveStage s = ActiveStage.load(plan, cfg, p -> progress(plan, p, progress), log);
                synchronized (computeLock) {
                    active = s;
                    state = WorkerState.WORKER_STATE_READY;
                    lastError = "";
                }
                log.accept("stage " + a.getStageIndex() + " ready: " + plan.range() + ", "
                        + Bytes.format(plan.weightBytes()) + " mapped, KV cache " + plan.kvCapacityTokens() + " tokens");
                return StageReady.newBuilder()
                        .setKvCapacityTokens(plan.kvCapacityTokens())
                        .setWeightBytes(plan.weightBytes())
                        .setKvBytes(plan.kvBytes())
                        .build();
            } catch (AssignException e) {
                state = WorkerState.WORKER_STATE_FAILED;
                lastError = e.getMessage();
                log.accept("assignment failed: " + e.getMessage());
                throw e;
            }
        }
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

    /** Drops the current assignment (if any): its Forward streams end, its queued micro-batches go, it is closed. */
    void unassign(String reason) {
        ActiveStage old;
        synchronized (computeLock) {
            old = active;
            active = null;
            if (old != null) {
                state = WorkerState.WORKER_STATE_IDLE;
            }
        }
        if (old == null) return;
        for (InboundStream s : streams) {
            if (s.stage() == old) {
                s.fail(Status.UNAVAILABLE.withDescription("worker " + workerId + ": assignment " + reason));
            }
        }
        inbox.removeIf(mb -> mb.from().stage() == old);
        old.close();
        log.accept("dropped the assignment of pipeline " + old.assignment().getPipelineId() + " stage "
                + old.stageIndex() + ": " + reason);
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
                }
            } else {
                a.executor.forget(finished);
            }
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
                .setStepId(h.getStepId())
                .addAllTimings(h.getTimingsList())
                .addTimings(timing);
        if (error != null) {
            r.setError(error);
        } else {
            for (SampledResult s : out.sampled()) {
                r.addTokens(SampledToken.newBuilder().setSequenceId(s.sequenceId()).setTokenId(s.tokenId())
                        .setLogprob(s.logprob()));
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

    HeartbeatRequest heartbeat() {
        ActiveStage a = active;
        HeartbeatRequest.Builder h = HeartbeatRequest.newBuilder().setWorkerId(workerId).setState(state);
        if (a != null) {
            h.setLoad(a.stats.sinceLastBeat(inbox.size()))
                    .setKvBlocksUsed(a.book.blocksUsed())
                    .setKvBlocksTotal(a.assignment().getKvBlocks())
                    .setLiveSequences(a.book.liveSequences());
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
        unassign("worker stopping");   // waits for a computing step, unblocks a send waiting for credit
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
