package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.BatchEntry;
import dev.shardline.coordinator.schedule.MicroBatch;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.coordinator.schedule.Scheduler;
import dev.shardline.coordinator.schedule.SchedulerConfig;
import dev.shardline.coordinator.schedule.SchedulerListener;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.SampledToken;
import dev.shardline.proto.stage.v1.SamplerParams;
import dev.shardline.proto.stage.v1.StageAck;
import dev.shardline.proto.stage.v1.StageMessage;
import dev.shardline.proto.stage.v1.StageTiming;
import dev.shardline.proto.stage.v1.StepResult;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Drives one pipeline: its {@link Scheduler} decides each micro-batch and the runner sends it to stage 0 as long as
 * the stage's credit allows (at most one micro-batch in flight per stage); the last stage's results come back
 * through {@link #onStepResult}. Sending is event-driven: whatever makes work or credit available (a result, a
 * request, a cancellation, a returned credit) sends the next micro-batches at once on its own thread, so a decode
 * step goes out without waking another thread; a pump thread re-checks every 50 ms as a safety net. Every scheduler
 * call happens under this runner's lock; sends are serialised, in order, by {@code sendLock}.
 */
public final class PipelineRunner implements AutoCloseable {
    private final int pipelineId;
    private final long planEpoch;
    private final Scheduler scheduler;
    private final StageLink stage0;
    private final ActivationDtype dtype;
    private final Consumer<String> log;
    private final Map<Long, SequenceSink> sinks = new HashMap<>();
    private final Map<Long, SamplerParams> sampling = new HashMap<>();
    private final Map<Long, Boolean> stopRequested = new HashMap<>();
    private final Map<Long, MicroBatch> sent = new HashMap<>();
    private final PipelineStats stats;
    private final Thread sender;
    private final Object sendLock = new Object();
    private volatile boolean closed;
    private volatile String failure;

    public PipelineRunner(int pipelineId, long planEpoch, SchedulerConfig config, StageLink stage0, ActivationDtype dtype,
                          int stageCount, Consumer<String> log) {
        this.pipelineId = pipelineId;
        this.planEpoch = planEpoch;
        this.stage0 = stage0;
        this.dtype = dtype;
        this.log = log;
        this.stats = new PipelineStats(stageCount);
        this.scheduler = new Scheduler(config, new Listener(), (seq, token) -> stopRequested.getOrDefault(seq, false));
        this.sender = Thread.ofPlatform().name("pipeline-" + pipelineId + "-pump").daemon().unstarted(this::sendLoop);
    }

    public void start() {
        stage0.onCredit(this::pump);
        sender.start();
        pump();
    }

    public int pipelineId() {
        return pipelineId;
    }

    public int blockSize() {
        return scheduler.config().blockSize();
    }

    public PipelineStats stats() {
        return stats;
    }

    /** Queues a request; its tokens and end go to {@code sink}. Throws InvalidRequestException for bad requests. */
    public long submit(Request request, SamplerParams params, SequenceSink sink) {
        long id;
        synchronized (this) {
            if (failure != null) {
                throw new IllegalStateException("pipeline " + pipelineId + " is down: " + failure);
            }
            id = scheduler.submit(request);
            sinks.put(id, sink);
            sampling.put(id, params.toBuilder().setPromptTokens(request.promptTokens().length).build());
        }
        pump();
        return id;
    }

    /** Cancels a sequence (client went away or deadline passed); its KV blocks are freed on every stage. */
    public void cancel(long sequenceId) {
        synchronized (this) {
            scheduler.cancel(sequenceId);
        }
        pump();
    }

    /** Sequences running or waiting: the load used to choose a pipeline. */
    public synchronized int load() {
        return scheduler.runningCount() + scheduler.waitingCount();
    }

    public synchronized Snapshot snapshot() {
        return new Snapshot(scheduler.runningCount(), scheduler.waitingCount(), scheduler.inFlightCount(),
                scheduler.usedBlocks(), scheduler.totalBlocks(), scheduler.preemptionCount());
    }

    /** Scheduler figures for status APIs. */
    public record Snapshot(int running, int waiting, int inFlight, int blocksUsed, int blocksTotal, long preemptions) {
    }

    /**
     * Sends micro-batches while stage 0 has credit and the scheduler has one, in order, without waiting. Called
     * with no runner lock held (the lock order is sendLock, then this runner).
     */
    private void pump() {
        synchronized (sendLock) {
            while (!closed && failure == null && stage0.tryCredit()) {
                MicroBatch mb;
                MicroBatchHeader header;
                synchronized (this) {
                    Optional<MicroBatch> next = scheduler.nextMicroBatch();
                    if (next.isEmpty()) {
                        stage0.returnCredit();
                        return;
                    }
                    mb = next.get();
                    sent.put(mb.stepId(), mb);
                    header = header(mb);
                }
                stats.sent(mb.stepId(), mb.totalRows(), mb.totalRows() == mb.entries().size());
                try {
                    stage0.send(StageMessage.newBuilder().setHeader(header).build());
                } catch (RuntimeException e) {
                    fail("sending to stage 0 failed: " + e.getMessage());
                    return;
                }
            }
        }
    }

    /** The safety net: every path that frees work or credit pumps by itself; this re-checks every 50 ms. */
    private void sendLoop() {
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

    private MicroBatchHeader header(MicroBatch mb) {
        MicroBatchHeader.Builder h = MicroBatchHeader.newBuilder().setPipelineId(pipelineId).setPlanEpoch(planEpoch)
                .setStepId(mb.stepId()).addAllFinishedSequenceIds(mb.finishedSequenceIds()).setHiddenDtype(dtype);
        for (BatchEntry e : mb.entries()) {
            dev.shardline.proto.stage.v1.BatchEntry.Builder b = dev.shardline.proto.stage.v1.BatchEntry.newBuilder()
                    .setSequenceId(e.sequenceId()).setFirstPosition(e.firstPosition()).setRows(e.rows())
                    .setWantLogits(e.wantLogits()).setGeneratedCount(e.generatedCount());
            for (int t : e.tokens()) b.addTokenIds(t);
            for (int blk : e.blockTable()) b.addBlockTable(blk);
            if (e.includeSamplingParams()) {
                b.setSampling(sampling.get(e.sequenceId()));
            }
            h.addEntries(b);
        }
        return h.build();
    }

    /** A last-stage result (called on a gRPC thread). */
    public void onStepResult(StepResult r) {
        stats.completed(r.getStepId(), r.getTimingsList());
        synchronized (this) {
            MicroBatch mb = sent.remove(r.getStepId());
            if (!r.getError().isEmpty()) {
                log.accept("pipeline " + pipelineId + " step " + r.getStepId() + " failed: " + r.getError());
                List<SampledTokenResult> placeholders = new ArrayList<>();
                if (mb != null) {
                    for (BatchEntry e : mb.entries()) {
                        errors.put(e.sequenceId(), r.getError());
                        scheduler.cancel(e.sequenceId());
                    }
                    for (BatchEntry e : mb.logitEntries()) placeholders.add(new SampledTokenResult(e.sequenceId(), 0, 0f));
                }
                scheduler.onResult(r.getStepId(), placeholders);
            } else {
                List<SampledTokenResult> results = new ArrayList<>(r.getTokensCount());
                for (SampledToken t : r.getTokensList()) {
                    results.add(new SampledTokenResult(t.getSequenceId(), t.getTokenId(), t.getLogprob()));
                }
                scheduler.onResult(r.getStepId(), results);
            }
        }
        pump();                                          // the next step goes out on this (transport) thread
    }

    private final Map<Long, String> errors = new HashMap<>();

    /** The pipeline cannot continue (a worker was lost): every sequence ends with an error. */
    public void fail(String reason) {
        synchronized (this) {
            if (failure != null || closed) return;
            failure = reason;
            log.accept("pipeline " + pipelineId + " is down: " + reason);
            for (Map.Entry<Long, SequenceSink> e : new ArrayList<>(sinks.entrySet())) {
                e.getValue().onFinished(FinishReason.CANCELLED, 0, reason);
            }
            sinks.clear();
            notifyAll();
        }
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
        sender.interrupt();
        stage0.close();
    }

    private final class Listener implements SchedulerListener {
        @Override
        public void onToken(long sequenceId, int tokenId, float logprob, int index) {
            SequenceSink sink = sinks.get(sequenceId);
            if (sink != null && sink.onToken(tokenId, logprob)) {
                stopRequested.put(sequenceId, true);
            }
        }

        @Override
        public void onFinished(long sequenceId, FinishReason reason, int generatedCount) {
            SequenceSink sink = sinks.remove(sequenceId);
            sampling.remove(sequenceId);
            stopRequested.remove(sequenceId);
            String error = errors.remove(sequenceId);
            if (sink != null) sink.onFinished(reason, generatedCount, error);
        }
    }
}
