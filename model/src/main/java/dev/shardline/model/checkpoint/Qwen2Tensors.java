package dev.shardline.model.checkpoint;

import dev.shardline.model.config.ModelConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Hugging Face tensor names of a Qwen2 checkpoint and the shapes config.json implies for them
 * ({@code nn.Linear} weights are [out_features, in_features]).
 */
public final class Qwen2Tensors {
    public static final String EMBEDDING = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    /** The twelve per-layer tensor suffixes, in {@code LayerWeights} component order. */
    public static final List<String> LAYER_SUFFIXES = List.of(
            "input_layernorm.weight",
            "self_attn.q_proj.weight", "self_attn.q_proj.bias",
            "self_attn.k_proj.weight", "self_attn.k_proj.bias",
            "self_attn.v_proj.weight", "self_attn.v_proj.bias",
            "self_attn.o_proj.weight",
            "post_attention_layernorm.weight",
            "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight");

    private Qwen2Tensors() {
    }

    /** A tensor name with the shape the config requires. */
    public record Spec(String name, long[] shape) {
        public Spec {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** True for RMSNorm weights (which a fresh model initialises to 1). */
        public boolean isNorm() {
            return name.endsWith("layernorm.weight") || name.equals(FINAL_NORM);
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape);
        }
    }

    public static Spec embedding(ModelConfig c) {
        return new Spec(EMBEDDING, new long[]{c.vocabSize(), c.hiddenSize()});           // [vocab, hidden]
    }

    public static Spec finalNorm(ModelConfig c) {
        return new Spec(FINAL_NORM, new long[]{c.hiddenSize()});                         // [hidden]
    }

    /** lm_head.weight; with tied embeddings the head reads the embedding tensor instead. */
    public static Spec lmHead(ModelConfig c) {
        return new Spec(c.tieWordEmbeddings() ? EMBEDDING : LM_HEAD, new long[]{c.vocabSize(), c.hiddenSize()});
    }

    /** The twelve tensors of layer i, in {@link #LAYER_SUFFIXES} order. */
    public static List<Spec> layer(ModelConfig c, int i) {
        long h = c.hiddenSize();
        long kv = c.kvDim();
        long inter = c.intermediateSize();
        long[][] shapes = {
                {h},            // input_layernorm
                {h, h}, {h},    // q_proj weight, bias
                {kv, h}, {kv},  // k_proj
                {kv, h}, {kv},  // v_proj
                {h, h},         // o_proj
                {h},            // post_attention_layernorm
                {inter, h},     // gate_proj
                {inter, h},     // up_proj
                {h, inter},     // down_proj
        };
        List<Spec> out = new ArrayList<>(12);
        for (int k = 0; k < 12; k++) {
            out.add(new Spec("model.layers." + i + "." + LAYER_SUFFIXES.get(k), shapes[k]));
        }
        return out;
    }

    /** Every tensor a checkpoint for this config holds, in file order: embedding, layers, norm, lm_head (if untied). */
    public static List<Spec> all(ModelConfig c) {
        List<Spec> out = new ArrayList<>();
        out.add(embedding(c));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            out.addAll(layer(c, i));
        }
        out.add(finalNorm(c));
        if (!c.tieWordEmbeddings()) {
            out.add(lmHead(c));
        }
        return out;
    }
}
