package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.rope.RopeFrequencies;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.TokenLogprob;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The Qwen2 forward pass over the layers this process holds, for a batch of sequences at once (prefill chunks
 * and decode tokens mixed). Written once against {@link Kernels}; a pipeline stage runs it on its layer range,
 * a single process on all layers. Shapes in comments are QwQ-32B's; {@code rows} is the batch's token count.
 */
public final class Qwen2Forward {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final Kernels kernels;
    private final RopeFrequencies rope;
    private final StepGraphs graphs;
    private Scratch scratch;   // null until the first step

    public Qwen2Forward(ModelWeights weights, Kernels kernels) {
        this(weights, kernels, StepGraphs.NONE);
    }

    /** @param graphs how the layers of a step may run as a captured graph ({@link StepGraphs#NONE}: never) */
    public Qwen2Forward(ModelWeights weights, Kernels kernels, StepGraphs graphs) {
        this.config = weights.config();
        this.weights = weights;
        this.kernels = kernels;
        this.rope = RopeFrequencies.of(config);
        this.graphs = java.util.Objects.requireNonNull(graphs, "graphs");
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    public Kernels kernels() {
        return kernels;
    }

    /**
     * Runs one step. {@code hiddenIn [rows, 5120]} carries the previous stage's output and must be null on the
     * stage that embeds. The cache must hold this range's layers; the steps' block tables must cover their rows.
     */
    public ForwardResult forward(List<SequenceStep> steps, float[] hiddenIn, KvCache cache) {
        return forward(steps, hiddenIn, cache, GreedyOnDevice.NONE);
    }

    /**
     * As {@link #forward(List, float[], KvCache)}; on the last stage, the sequences {@code device} names get their
     * token (greedy, or drawn with the host Sampler's rule) and its log-probability from its device sampler, and
     * only the other rows' logits are read back (with any row the device declines).
     */
    public ForwardResult forward(List<SequenceStep> steps, float[] hiddenIn, KvCache cache, GreedyOnDevice device) {
        int rows = countRows(steps);
        int hidden = config.hiddenSize();
        int padded = graphs.paddedRows(steps.size(), rows);
        if (padded != 0 && padded < rows) {
            throw new IllegalStateException("step graphs padded " + rows + " rows to " + padded);
        }
        int run = padded > 0 ? padded : rows;                                            // rows the layer ops see
        Scratch s = scratch(run);
        Activations x = s.x;                                                             // [run, 5120]

        if (weights.range().embedding()) {
            kernels.embed(weights.embedding(), allTokens(steps, run), x);                // padding: token 0
        } else {
            kernels.write(hiddenIn, 0, x, 0, rows * hidden);                             // padding rows: stale
        }
        ropeTables(allPositions(steps, run), s);                                         // [run, 64] each
        AttentionBatch attention = attentionBatch(steps);
        Runnable layerLoop = () -> layers(s, run, attention, cache);
        if (padded > 0 && weights.range().head() && graphs.graphsHead() && GraphHead.refusal(steps, device) == null) {
            GraphHead head = graphHead(steps, s, padded, device);                        // logits allocated here
            SampledToken[] t = graphs.runStep(padded, attention, cache, layerLoop, head);
            if (t.length != steps.size()) {
                throw new IllegalStateException("step graphs returned " + t.length + " tokens for " + steps.size()
                        + " sequences");
            }
            return paddedHeadResult(s, t);
        }
        if (padded > 0) {
            graphs.runLayers(padded, attention, cache, layerLoop);
        } else {
            layerLoop.run();
        }
        return head(steps, rows, s, device);
    }

    /**
     * The head of a padded decode step whose every token the device chooses ({@link GraphHead}): final norm and
     * lm_head over all padded rows, in place (row i is sequence i: no gather), and the sequences' draws.
     */
    private GraphHead graphHead(List<SequenceStep> steps, Scratch s, int padded, GreedyOnDevice device) {
        float eps = (float) config.rmsNormEps();
        Activations logits = s.logits(padded);
        Runnable ops = () -> {
            kernels.rmsNorm(s.x, weights.finalNorm(), eps, padded, s.xb);                // [padded, 5120]
            kernels.matmul(s.xb, padded, weights.lmHead(), null, logits);                // [padded, 152064]
        };
        DeviceDraw[] draws = new DeviceDraw[steps.size()];
        for (int i = 0; i < draws.length; i++) draws[i] = device.draw(i);
        return new GraphHead(ops, logits, steps.size(), padded, config.vocabSize(), device.vocabLimit(), draws,
                device.sampler());
    }

    /** A padded head's result: the device's tokens, and the logits of the rows it declined (batch order). */
    private ForwardResult paddedHeadResult(Scratch s, SampledToken[] t) {
        int vocab = config.vocabSize();
        int[] all = IntStream.range(0, t.length).toArray();
        int[] accepted = IntStream.range(0, t.length).filter(i -> t[i] != null).toArray();
        int[] declined = IntStream.range(0, t.length).filter(i -> t[i] == null).toArray();
        float[] logits = new float[declined.length * vocab];
        for (int j = 0; j < declined.length; j++) {
            kernels.read(s.logits, (long) declined[j] * vocab, logits, j * vocab, vocab);
        }
        return new ForwardResult(null, logits, declined, vocab, tokens(all, t, accepted));
    }

    /** The layer loop over {@code rows} rows of the scratch (a padded step's rows include its padding). */
    private void layers(Scratch s, int rows, AttentionBatch attention, KvCache cache) {
        int hidden = config.hiddenSize();
        float eps = (float) config.rmsNormEps();
        Activations x = s.x;
        for (LayerWeights layer : weights.layers()) {
            KvLayer kv = cache.layer(layer.index());
            kernels.rmsNorm(x, layer.inputNorm(), eps, rows, s.xb);                      // [rows, 5120]
            kernels.matmul(s.xb, rows, layer.qWeight(), layer.qBias(), s.q);             // [rows, 40*128]
            kernels.matmul(s.xb, rows, layer.kWeight(), layer.kBias(), s.k);             // [rows, 8*128]
            kernels.matmul(s.xb, rows, layer.vWeight(), layer.vBias(), s.v);             // [rows, 8*128]
            kernels.rope(s.q, rows, config.numAttentionHeads(), config.headDim(), s.cos, s.sin);
            kernels.rope(s.k, rows, config.numKeyValueHeads(), config.headDim(), s.cos, s.sin);
            kernels.storeKv(s.k, s.v, attention, kv);                                    // cache <- k, v
            kernels.attention(s.q, s.attn, attention, kv);                               // [rows, 40*128]
            kernels.matmul(s.attn, rows, layer.oWeight(), null, s.xb);                   // [rows, 5120]
            kernels.add(x, s.xb, rows * hidden);                                         // residual
            kernels.rmsNorm(x, layer.postNorm(), eps, rows, s.xb);                       // [rows, 5120]
            kernels.matmul(s.xb, rows, layer.gateWeight(), null, s.gate);                // [rows, 27648]
            kernels.matmul(s.xb, rows, layer.upWeight(), null, s.up);                    // [rows, 27648]
            kernels.swiglu(s.gate, s.up, rows * config.intermediateSize(), s.gate);      // silu(gate) * up
            kernels.matmul(s.gate, rows, layer.downWeight(), null, s.xb);                // [rows, 5120]
            kernels.add(x, s.xb, rows * hidden);                                         // residual
        }
    }

    /** What the step returns: hidden states to the next stage, or the logits (and device-chosen tokens). */
    private ForwardResult head(List<SequenceStep> steps, int rows, Scratch s, GreedyOnDevice device) {
        int hidden = config.hiddenSize();
        float eps = (float) config.rmsNormEps();
        Activations x = s.x;
        if (!weights.range().head()) {
            float[] out = new float[rows * hidden];                                      // to the next stage
            kernels.read(x, 0, out, 0, rows * hidden);
            return new ForwardResult(out, null, new int[0], config.vocabSize());
        }
        int[] greedy = sequencesWantingLogits(steps, i -> device.has(i) && device.draw(i) == null);
        int[] drawn = sequencesWantingLogits(steps, i -> device.has(i) && device.draw(i) != null);
        int[] onDevice = concat(greedy, drawn);                                          // lm_head rows [0, d)
        int[] onHost = sequencesWantingLogits(steps, i -> !device.has(i));
        int d = onDevice.length;
        int k = d + onHost.length;
        if (k == 0) {
            return new ForwardResult(null, new float[0], onHost, config.vocabSize());
        }
        gatherLastRows(steps, x, concat(onDevice, onHost), s.xb);                        // [k, 5120]
        kernels.rmsNorm(s.xb, weights.finalNorm(), eps, k, s.x);                         // [k, 5120]
        kernels.matmul(s.x, k, weights.lmHead(), null, s.logits(k));                     // [k, 152064]
        DeviceTokens chosen = DeviceTokens.NONE;
        int vocab = config.vocabSize();
        if (d > 0) {                                                                     // rows [0, d): ids only
            SampledToken[] t = deviceTokens(device, s, greedy, drawn);
            int[] declined = IntStream.range(0, d).filter(j -> t[j] == null).toArray();
            if (declined.length > 0) {                           // read those rows too: sampled on the host
                return withDeclined(steps, s, onDevice, onHost, t, declined);
            }
            chosen = tokens(onDevice, t, IntStream.range(0, d).toArray());
        }
        float[] logits = new float[(k - d) * vocab];                                     // rows [d, k)
        if (logits.length > 0) kernels.read(s.logits, (long) d * vocab, logits, 0, logits.length);
        return new ForwardResult(null, logits, onHost, vocab, chosen);
    }

    /**
     * The tokens of the device rows: greedy rows [0, g) (sequences {@code greedy}), then drawn rows [g, d)
     * (sequences {@code drawn}); null where the device declines. With top log-probs asked by any row, one
     * {@code argmaxTop} over all d rows gives the greedy rows' tokens and every row's alternatives (from the raw
     * logits, as {@code Sampler.score} reports them beside a drawn token too); otherwise {@code argmaxLogprob} over
     * the greedy rows. The drawn rows' ids and log-probs come from one {@code draw}.
     */
    private SampledToken[] deviceTokens(GreedyOnDevice device, Scratch s, int[] greedy, int[] drawn) {
        int g = greedy.length;
        int d = g + drawn.length;
        int vocab = config.vocabSize();
        SampledToken[] t = new SampledToken[d];
        int[] top = new int[d];
        boolean anyTop = false;
        for (int j = 0; j < d; j++) {
            top[j] = device.top(j < g ? greedy[j] : drawn[j - g]);
            anyTop |= top[j] > 0;
        }
        SampledToken[] listed = null;
        if (anyTop) {
            listed = device.sampler().argmaxTop(s.logits, d, vocab, device.vocabLimit(), top);
            System.arraycopy(listed, 0, t, 0, g);
        } else if (g > 0) {
            int[] ids = new int[g];
            float[] logprobs = new float[g];
            device.sampler().argmaxLogprob(s.logits, g, vocab, device.vocabLimit(), ids, logprobs);
            for (int j = 0; j < g; j++) t[j] = new SampledToken(ids[j], logprobs[j]);
        }
        if (drawn.length > 0) {
            DeviceDraw[] draws = new DeviceDraw[drawn.length];
            for (int j = 0; j < drawn.length; j++) draws[j] = device.draw(drawn[j]);
            SampledToken[] dt = device.sampler().draw(s.logits, g, drawn.length, vocab, device.vocabLimit(), draws);
            for (int j = 0; j < drawn.length; j++) {
                SampledToken alternatives = top[g + j] > 0 ? listed[g + j] : null;
                t[g + j] = dt[j] == null || top[g + j] == 0 ? dt[j]
                        : alternatives == null ? null
                        : new SampledToken(dt[j].id(), dt[j].logprob(), alternatives.topLogprobs());
            }
        }
        return t;
    }

    /** The device's tokens for device rows {@code rows} (indices into {@code onDevice} and {@code t}). */
    private static DeviceTokens tokens(int[] onDevice, SampledToken[] t, int[] rows) {
        int[] seqs = new int[rows.length];
        int[] ids = new int[rows.length];
        float[] logprobs = new float[rows.length];
        List<List<TokenLogprob>> top = new ArrayList<>(rows.length);
        for (int i = 0; i < rows.length; i++) {
            SampledToken token = t[rows[i]];
            seqs[i] = onDevice[rows[i]];
            ids[i] = token.id();
            logprobs[i] = token.logprob();
            top.add(token.topLogprobs());
        }
        return new DeviceTokens(seqs, ids, logprobs, top);
    }

    /**
     * A step where the device declined some of its rows: their logits are read back with the host rows', the
     * logits rows in batch order of their sequences (lm_head rows: device rows [0, d), host rows [d, k)).
     */
    private ForwardResult withDeclined(List<SequenceStep> steps, Scratch s, int[] onDevice, int[] onHost,
                                       SampledToken[] t, int[] declined) {
        int vocab = config.vocabSize();
        int d = onDevice.length;
        int[] accepted = IntStream.range(0, d).filter(j -> t[j] != null).toArray();
        int[] rowOf = new int[steps.size()];                                             // sequence -> lm_head row
        java.util.Arrays.fill(rowOf, -1);
        for (int j : declined) rowOf[onDevice[j]] = j;
        for (int j = 0; j < onHost.length; j++) rowOf[onHost[j]] = d + j;
        int[] hostSeqs = IntStream.range(0, steps.size()).filter(i -> rowOf[i] >= 0).toArray();   // batch order
        float[] logits = new float[hostSeqs.length * vocab];
        for (int j = 0; j < hostSeqs.length; j++) {
            kernels.read(s.logits, (long) rowOf[hostSeqs[j]] * vocab, logits, j * vocab, vocab);
        }
        return new ForwardResult(null, logits, hostSeqs, vocab, tokens(onDevice, t, accepted));
    }

    /**
     * Releases the step graphs and the scratch buffers (device memory on a GPU backend); the kernels are closed by
     * their owner.
     */
    public void close() {
        graphs.close();
        releaseScratch();
    }

    private void releaseScratch() {
        if (scratch != null) {
            scratch.close();
            scratch = null;
        }
    }

    private AttentionBatch attentionBatch(List<SequenceStep> steps) {
        List<SequenceSlice> slices = new ArrayList<>(steps.size());
        int row = 0;
        for (SequenceStep step : steps) {
            slices.add(new SequenceSlice(row, step.rows(), step.firstPosition(), step.blockTable()));
            row += step.rows();
        }
        float scale = (float) (1.0 / Math.sqrt(config.headDim()));
        return new AttentionBatch(slices, config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(), scale);
    }

    private static int countRows(List<SequenceStep> steps) {
        int rows = 0;
        for (SequenceStep step : steps) rows += step.rows();
        if (rows == 0) throw new IllegalArgumentException("empty batch");
        return rows;
    }

    private static int[] allTokens(List<SequenceStep> steps, int rows) {
        int[] ids = new int[rows];
        int row = 0;
        for (SequenceStep step : steps) {
            if (step.tokens() == null) {
                throw new IllegalArgumentException("the embedding stage needs token ids for every sequence");
            }
            System.arraycopy(step.tokens(), 0, ids, row, step.rows());
            row += step.rows();
        }
        return ids;
    }

    private static int[] allPositions(List<SequenceStep> steps, int rows) {
        int[] positions = new int[rows];
        int row = 0;
        for (SequenceStep step : steps) {
            for (int i = 0; i < step.rows(); i++) positions[row++] = step.firstPosition() + i;
        }
        return positions;
    }

    private static int[] sequencesWantingLogits(List<SequenceStep> steps, java.util.function.IntPredicate which) {
        return java.util.stream.IntStream.range(0, steps.size())
                .filter(i -> steps.get(i).wantLogits() && which.test(i)).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private void gatherLastRows(List<SequenceStep> steps, Activations x, int[] which, Activations out) {
        int hidden = config.hiddenSize();
        int[] lastRow = new int[steps.size()];
        int row = 0;
        for (int i = 0; i < steps.size(); i++) {
            row += steps.get(i).rows();
            lastRow[i] = row - 1;
        }
        for (int j = 0; j < which.length; j++) {
            kernels.copy(x, (long) lastRow[which[j]] * hidden, out, (long) j * hidden, hidden);
        }
    }

    private void ropeTables(int[] positions, Scratch s) {
        int n = positions.length * (config.headDim() / 2);
        if (s.hostCos.length < n) {
            s.hostCos = new float[n];
            s.hostSin = new float[n];
        }
        rope.table(positions, s.hostCos, s.hostSin);
        kernels.write(s.hostCos, 0, s.cos, 0, n);
        kernels.write(s.hostSin, 0, s.sin, 0, n);
    }

    private Scratch scratch(int rows) {
        if (scratch == null || scratch.rows < rows) {
            int grown = scratch == null ? rows : Math.max(rows, scratch.rows * 2);
            releaseScratch();
            scratch = new Scratch(grown, config, kernels);
        }
        return scratch;
    }

    /** Work buffers in the backend's memory, reused across steps, grown to the largest batch seen. */
    private static final class Scratch implements AutoCloseable {
        final int rows;
        final Kernels kernels;
        final Activations x, xb, q, k, v, attn, gate, up, cos, sin;
        Activations logits;          // [k, vocab], grown on demand
        int logitRows;
        float[] hostCos = new float[0], hostSin = new float[0];

        Scratch(int rows, ModelConfig c, Kernels kernels) {
            this.rows = rows;
            this.kernels = kernels;
            int n = rows;
            int hidden = c.hiddenSize();
            int qDim = c.numAttentionHeads() * c.headDim();
            int kvDim = c.kvDim();
            int inter = c.intermediateSize();
            int half = c.headDim() / 2;
            this.vocab = c.vocabSize();
            x = alloc((long) n * hidden);
            xb = alloc((long) n * hidden);
            q = alloc((long) n * qDim);
            k = alloc((long) n * kvDim);
            v = alloc((long) n * kvDim);
            attn = alloc((long) n * qDim);
            gate = alloc((long) n * inter);
            up = alloc((long) n * inter);
            cos = alloc((long) n * half);
            sin = alloc((long) n * half);
        }

        private final int vocab;

        private Activations alloc(long floats) {
            return kernels.allocate(floats);
        }

        /** At least k rows, grown by doubling (a free of device memory makes a backend's captured graphs stale). */
        Activations logits(int k) {
            if (logitRows < k) {
                if (logits != null) logits.close();
                int grown = Math.max(k, Math.min(rows, 2 * logitRows));
                logits = alloc((long) grown * vocab);
                logitRows = grown;
            }
            return logits;
        }

        @Override
        public void close() {
            for (Activations a : new Activations[] {x, xb, q, k, v, attn, gate, up, cos, sin, logits}) {
                if (a != null) a.close();
            }
        }
    }

    /** The tensor lm_head reads (the embedding when tied). */
    public WeightTensor lmHead() {
        return weights.lmHead();
    }
}
