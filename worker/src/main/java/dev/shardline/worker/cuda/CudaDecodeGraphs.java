package dev.shardline.worker.cuda;

import dev.shardline.model.forward.GraphHead;
import dev.shardline.model.forward.StepGraphs;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SampledToken;


/**
 * Decode steps' layers as CUDA graphs ({@code cuda-graphs=true}), one per (batch bucket, attention split count),
 * for one forward pass (its scratch buffers and KV cache are what the graphs read and write). {@link DecodeGraphPlan}
 * says which steps qualify and their bucket. For such a step the forward pass has already written its inputs into
 * its fixed buffers (embedding or hidden states, RoPE tables); {@link #runLayers} uploads the padded attention batch
 * and sizes the workspace ({@link CudaKernels#stagePadded}), then:
 * <ul>
 *   <li>a shape seen for the first time runs eagerly (padded): the warm-up that makes every lazy allocation happen
 *       outside a capture;</li>
 *   <li>the second time, the layer loop is captured (recorded, not run), instantiated and launched;</li>
 *   <li>afterwards the graph is replayed with one cudaGraphLaunch.</li>
 * </ul>
 * A graph is stale once the kernels have freed any device memory since its capture ({@link CudaKernels#memoryEpoch}:
 * grown scratch, a re-allocated batch buffer, a new cache) or the cache is another one; a stale graph is destroyed
 * and its shape warms up again. A capture that fails (an op that cannot be captured) leaves that shape eager for
 * good, with the reason in {@link #stats}. Mode {@link Mode#PADDED_EAGER} pads the same way but never captures: the
 * reference a graph's results must equal bit for bit. One compute thread, like the kernels.
 *
 * <p>On the last stage, a padded step whose every token the device chooses ({@link GraphHead}) comes through
 * {@link #runStep} unless the plan keeps heads eager ({@link DecodeGraphPlan#head}, {@code cuda-graph-head=false}): its draws are staged into fixed buffers first ({@link CudaKernels#stageHead}, sized for the
 * bucket; any growth is a free, so it happens before the epoch is read), then the layers, the final norm and
 * lm_head over the padded rows, argmaxLogprob and/or the draw kernel over the padded rows run as one graph (the
 * head's kind, {@link HeadStaging#kind}, is part of the shape), and the small results are read back after it
 * ({@link CudaKernels#readHead}). A row the device declines is left to the forward pass, which reads its logits.
 * The head uses these kernels' sampler, whatever {@link GraphHead#sampler} is (the worker's is these kernels,
 * possibly narrowed by {@code cuda-sampling}, which only changes which rows have draws).
 */
public final class CudaDecodeGraphs implements StepGraphs {

    /** Whether padded steps are captured and replayed, or only padded (the graphs' exact reference). */
    public enum Mode { GRAPHS, PADDED_EAGER }

    private final CudaKernels kernels;
    private final DecodeGraphPlan plan;
    private final Mode mode;
    private final GraphSlots slots = new GraphSlots();
    private KvCache cache;            // the cache the graphs write
    private long captures, replays, eager, failures;
    private String lastFailure;

    public CudaDecodeGraphs(CudaKernels kernels, DecodeGraphPlan plan, Mode mode) {
        this.kernels = java.util.Objects.requireNonNull(kernels, "kernels");
        this.plan = java.util.Objects.requireNonNull(plan, "plan");
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
    }

    /** Graphs as the worker configures them, or {@link StepGraphs#NONE} when the plan is off. */
    public static StepGraphs of(CudaKernels kernels, DecodeGraphPlan plan) {
        return plan.enabled() ? new CudaDecodeGraphs(kernels, plan, Mode.GRAPHS) : StepGraphs.NONE;
    }

    @Override
    public int paddedRows(int sequences, int rows) {
        return plan.choose(sequences, rows).bucket();
    }

    @Override
    public void runLayers(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers) {
        padded(paddedRows, batch, cache, HeadStaging.LAYERS_ONLY, layers);
    }

    @Override
    public boolean graphsHead() {
        return plan.head();
    }

    @Override
    public SampledToken[] runStep(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers,
                                  GraphHead head) {
        if (head.paddedRows() != paddedRows) {
            throw new IllegalArgumentException("a head of " + head.paddedRows() + " rows for a step of " + paddedRows);
        }
        int kind = HeadStaging.kind(head.anyGreedy(), head.anyDrawn());
        kernels.stageHead(paddedRows, head.vocabLimit(), HeadStaging.drawn(kind) ? head.paddedDraws() : null);
        padded(paddedRows, batch, cache, kind, () -> {
            layers.run();
            head.logits().run();
            kernels.launchHead(head.buffer(), paddedRows, head.stride(), head.vocabLimit(), kind);
        });
        return HeadStaging.tokens(head, kernels.readHead(paddedRows));
    }

    private void padded(int paddedRows, AttentionBatch batch, KvCache cache, int head, Runnable step) {
        int maxLength = 0;
        for (SequenceSlice s : batch.sequences()) maxLength = Math.max(maxLength, s.endPosition());
        int splits = DecodeGraphPlan.graphSplits(paddedRows, batch.kvHeads(), maxLength);
        kernels.stagePadded(batch, paddedRows, DecodeGraphPlan.launchLength(splits), cache.blockSize(),
                cache.numBlocks());
        try {
            run(paddedRows, splits, head, cache, step);
        } finally {
            kernels.endPadded();
        }
    }

    private void run(int rows, int splits, int head, KvCache cache, Runnable layers) {
        if (mode == Mode.PADDED_EAGER) {
            eager++;
            layers.run();
            return;
        }
        if (cache != this.cache) {
            free(slots.clear());
            this.cache = cache;
        }
        GraphSlots.Decision d = slots.decide(rows, splits, head, kernels.memoryEpoch());
        free(d.free());
        String op = "decode graph (" + rows + " rows, " + splits + " attention splits"
                + (head == HeadStaging.LAYERS_ONLY ? "" : ", head kind " + head) + ")";
        switch (d.action()) {
            case WARM_UP, FAILED -> {
                eager++;
                layers.run();
            }
            case REPLAY -> {
                replays++;
                kernels.launchGraph(d.handle(), op);
            }
            case CAPTURE -> {
                long handle = capture(rows, splits, head, op, layers);
                if (handle == 0) {                    // failed: this step (and the shape from now on) eager
                    eager++;
                    layers.run();
                } else {
                    captures++;
                    kernels.launchGraph(handle, op);
                }
            }
        }
    }

    /** Captures the layer loop; 0 when the capture failed (recorded in the slots, the stream usable again). */
    private long capture(int rows, int splits, int head, String op, Runnable layers) {
        long epoch = kernels.memoryEpoch();
        try {
            kernels.beginCapture();
        } catch (CudaException e) {
            if (e.fatal()) throw e;
            return failed(rows, splits, head, op, e);
        }
        RuntimeException failure = null;
        try {
            layers.run();
        } catch (RuntimeException e) {
            failure = e;
        }
        long handle = 0;
        try {
            handle = kernels.endCapture();
        } catch (CudaException e) {
            if (e.fatal()) throw e;
            if (failure == null) failure = e;
        }
        if (failure != null) {
            if (failure instanceof CudaException c && c.fatal()) throw c;
            if (handle != 0) kernels.freeGraph(handle);
            return failed(rows, splits, head, op, failure);
        }
        slots.captured(rows, splits, head, handle, epoch);
        return handle;
    }

    private long failed(int rows, int splits, int head, String op, RuntimeException e) {
        lastFailure = op + ": " + e.getMessage();
        failures++;
        slots.failed(rows, splits, head, lastFailure);
        return 0;
    }

    private void free(java.util.List<Long> handles) {
        RuntimeException first = null;
        for (long h : handles) {
            try {
                kernels.freeGraph(h);
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    /** Counts so far, for logs, tests and gpu-check. */
    public Stats stats() {
        return new Stats(captures, replays, eager, failures, slots.live(), lastFailure);
    }

    /**
     * @param captures    graphs captured (and launched once)
     * @param replays     steps that replayed a graph
     * @param eager       padded steps run eagerly (warm-ups, failed shapes, {@link Mode#PADDED_EAGER})
     * @param failures    captures that failed
     * @param live        graphs held now
     * @param lastFailure the last capture failure's message, or null
     */
    public record Stats(long captures, long replays, long eager, long failures, int live, String lastFailure) {
    }

    @Override
    public void close() {
        cache = null;
        try {
            free(slots.clear());
        } catch (RuntimeException afterFatal) {
            // only a poisoned context refuses cudaGraphExecDestroy; the process is done with the GPU then
        }
    }
}
