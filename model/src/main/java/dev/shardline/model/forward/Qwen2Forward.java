package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.rope.RopeFrequencies;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.util.ArrayList;
import java.util.List;

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
    private Scratch scratch = new Scratch(0, null);

    public Qwen2Forward(ModelWeights weights, Kernels kernels) {
        this.config = weights.config();
        this.weights = weights;
        this.kernels = kernels;
        this.rope = RopeFrequencies.of(config);
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
        int rows = countRows(steps);
        int hidden = config.hiddenSize();
        int qDim = config.numAttentionHeads() * config.headDim();
        float eps = (float) config.rmsNormEps();
        Scratch s = scratch(rows);

        float[] x = new float[rows * hidden];                                            // [rows, 5120]
        if (weights.range().embedding()) {
            kernels.embed(weights.embedding(), allTokens(steps, rows), x);
        } else {
            System.arraycopy(hiddenIn, 0, x, 0, rows * hidden);
        }
        rope.table(allPositions(steps, rows), s.cos, s.sin);                            // [rows, 64] each
        AttentionBatch attention = attentionBatch(steps);

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

        if (!weights.range().head()) {
            return new ForwardResult(x, null, new int[0], config.vocabSize());
        }
        int[] logitSequences = sequencesWantingLogits(steps);
        float[] last = lastRows(steps, x, logitSequences);                              // [k, 5120]
        float[] normed = new float[last.length];
        kernels.rmsNorm(last, weights.finalNorm(), eps, logitSequences.length, normed);
        float[] logits = new float[logitSequences.length * config.vocabSize()];          // [k, 152064]
        kernels.matmul(normed, logitSequences.length, weights.lmHead(), null, logits);
        return new ForwardResult(null, logits, logitSequences, config.vocabSize());
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

    private static int[] sequencesWantingLogits(List<SequenceStep> steps) {
        return java.util.stream.IntStream.range(0, steps.size()).filter(i -> steps.get(i).wantLogits()).toArray();
    }

    private float[] lastRows(List<SequenceStep> steps, float[] x, int[] which) {
        int hidden = config.hiddenSize();
        int[] lastRow = new int[steps.size()];
        int row = 0;
        for (int i = 0; i < steps.size(); i++) {
            row += steps.get(i).rows();
            lastRow[i] = row - 1;
        }
        float[] out = new float[which.length * hidden];
        for (int j = 0; j < which.length; j++) {
            System.arraycopy(x, lastRow[which[j]] * hidden, out, j * hidden, hidden);
        }
        return out;
    }

    private Scratch scratch(int rows) {
        if (scratch.rows < rows) {
            scratch = new Scratch(Math.max(rows, scratch.rows * 2), config);
        }
        return scratch;
    }

    /** Work buffers reused across steps, grown to the largest batch seen. */
    private static final class Scratch {
        final int rows;
        final float[] xb, q, k, v, attn, gate, up, cos, sin;

        Scratch(int rows, ModelConfig c) {
            this.rows = rows;
            int n = c == null ? 0 : rows;
            int hidden = c == null ? 0 : c.hiddenSize();
            int qDim = c == null ? 0 : c.numAttentionHeads() * c.headDim();
            int kvDim = c == null ? 0 : c.kvDim();
            int inter = c == null ? 0 : c.intermediateSize();
            int half = c == null ? 0 : c.headDim() / 2;
            xb = new float[n * hidden];
            q = new float[n * qDim];
            k = new float[n * kvDim];
            v = new float[n * kvDim];
            attn = new float[n * qDim];
            gate = new float[n * inter];
            up = new float[n * inter];
            cos = new float[n * half];
            sin = new float[n * half];
        }
    }

    /** The tensor lm_head reads (the embedding when tied). */
    public WeightTensor lmHead() {
        return weights.lmHead();
    }
}
