package dev.shardline.coordinator.plan;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.source.WeightSizes;

/**
 * Bytes and time of a stage, computed exactly from the config. A decoder layer is q, k, v (with biases), o, gate,
 * up, down and its two RMSNorm weights; decode reads every weight once per step, so a stage's time is the bytes it
 * reads divided by its worker's speed. The embedding costs memory on the first stage but no time (a row gather);
 * the final norm + lm_head cost memory and time on the last stage. With tied embeddings the last stage reads the
 * embedding matrix as lm_head, so a multi-stage pipeline holds it twice (first and last stage), a single stage once.
 */
public final class CostModel {
    private final int layers;
    private final long layerBytes;
    private final long embeddingBytes;
    private final long normBytes;
    private final long lmHeadBytes;
    private final boolean tied;
    private final long kvBytesPerTokenPerLayer;
    private final long reserveTokens;

    public CostModel(ModelConfig c, int weightBytesPerElement, long kvBytesPerTokenPerLayer, long reserveTokens) {
        if (weightBytesPerElement <= 0) {
            throw new IllegalArgumentException("weight bytes per element must be > 0, got " + weightBytesPerElement);
        }
        long h = c.hiddenSize();
        long kv = c.kvDim();
        long inter = c.intermediateSize();
        long elements = 2 * h                    // input_layernorm, post_attention_layernorm
                + h * h + h                      // q_proj weight [h, h], bias [h]
                + 2 * (kv * h + kv)              // k_proj, v_proj weight [kv, h], bias [kv]
                + h * h                          // o_proj [h, h]
                + 3 * inter * h;                 // gate, up [inter, h], down [h, inter]
        this.layers = c.numHiddenLayers();
        this.layerBytes = elements * weightBytesPerElement;
        this.embeddingBytes = (long) c.vocabSize() * h * weightBytesPerElement;   // [vocab, hidden]
        this.normBytes = h * weightBytesPerElement;                                  // [hidden]
        this.lmHeadBytes = embeddingBytes;                                           // [vocab, hidden], tied or not
        this.tied = c.tieWordEmbeddings();
        this.kvBytesPerTokenPerLayer = kvBytesPerTokenPerLayer > 0 ? kvBytesPerTokenPerLayer
                : KvCache.bytesPerTokenPerLayer(c);
        this.reserveTokens = reserveTokens;
    }

    public static CostModel of(ModelConfig c, int weightBytesPerElement, PlanOptions o) {
        CostModel m = new CostModel(c, weightBytesPerElement, o.kvBytesPerTokenPerLayer(), o.minKvReserveTokens());
        return o.weightSizes() == null ? m : m.withSizes(o.weightSizes());
    }

    private CostModel(int layers, long layerBytes, long embeddingBytes, long normBytes, long lmHeadBytes, boolean tied,
                      long kvBytesPerTokenPerLayer, long reserveTokens) {
        this.layers = layers;
        this.layerBytes = layerBytes;
        this.embeddingBytes = embeddingBytes;
        this.normBytes = normBytes;
        this.lmHeadBytes = lmHeadBytes;
        this.tied = tied;
        this.kvBytesPerTokenPerLayer = kvBytesPerTokenPerLayer;
        this.reserveTokens = reserveTokens;
    }

    /**
     * The same model with its real stored bytes: a stage of n layers is costed at n times the largest layer
     * (Q4_K_M keeps some layers' attn_v and ffn_down in Q6_K, so layers differ by ~15%; the largest never
     * under-counts a stage's memory), the embedding, norm and lm_head as stored.
     */
    CostModel withSizes(WeightSizes s) {
        long largest = s.layers().stream().mapToLong(Long::longValue).max().orElse(layerBytes);
        return new CostModel(layers, largest, s.embedding(), s.finalNorm(), s.lmHead(), tied, kvBytesPerTokenPerLayer,
                reserveTokens);
    }

    public int layers() {
        return layers;
    }

    /** Weight bytes of one decoder layer. */
    public long layerBytes() {
        return layerBytes;
    }

    public long embeddingBytes() {
        return embeddingBytes;
    }

    /** Bytes the last stage reads per step besides its layers: final norm + lm_head. */
    public long headComputeBytes() {
        return normBytes + lmHeadBytes;
    }

    public long kvBytesPerTokenPerLayer() {
        return kvBytesPerTokenPerLayer;
    }

    public long reserveTokens() {
        return reserveTokens;
    }

    /** KV reserve bytes of one layer. */
    public long reserveBytesPerLayer() {
        return reserveTokens * kvBytesPerTokenPerLayer;
    }

    /** Weight bytes of a stage with {@code count} layers, the embedding if {@code first}, the head if {@code last}. */
    public long weightBytes(int count, boolean first, boolean last) {
        long b = count * layerBytes;
        if (first) {
            b += embeddingBytes;
        }
        if (last) {
            b += normBytes + (tied && first ? 0 : lmHeadBytes);
        }
        return b;
    }

    /** Weights plus the minimum KV reserve: what the stage's worker must offer. */
    public long memoryNeed(int count, boolean first, boolean last) {
        return weightBytes(count, first, last) + count * reserveBytesPerLayer();
    }

    /** Time per step in layer-equivalents at the given speed: (layers + head bytes / layer bytes) / speed. */
    public double costUnits(int count, boolean last, double speed) {
        return (count + (last ? headUnits() : 0.0)) / speed;
    }

    /** lm_head + final norm in layer-equivalents (about 1.6 for QwQ-32B). */
    public double headUnits() {
        return (double) headComputeBytes() / layerBytes;
    }

    /** KV tokens the memory left after the weights holds; 0 when the weights alone overflow. */
    public long kvCapacityTokens(long budget, int count, boolean first, boolean last) {
        long left = budget - weightBytes(count, first, last);
        return left <= 0 || count == 0 ? 0 : left / (count * kvBytesPerTokenPerLayer);
    }
}
