package dev.shardline.cli.gpucheck;

import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerWeights;

/**
 * One decoder layer's random bf16 weights plus an lm_head, built in memory once per run and shared by the op
 * checks and the timings (so a GPU backend uploads each once). Weights and biases are normal(0, 0.02) like a
 * freshly initialised Qwen2; norms are normal(1, 0.1) so that the norm weight matters. QwQ shapes in comments.
 */
record LayerTensors(LayerWeights layer, WeightTensor lmHead) {   // lm_head [152064, 5120]

    static final float STD = 0.02f;

    static LayerTensors create(RandomTensors r, Shapes s) {
        int h = s.hidden();
        int kv = s.kvDim();
        int inter = s.intermediate();
        String p = "model.layers.0.";
        LayerWeights layer = new LayerWeights(0,
                r.vector(p + "input_layernorm.weight", 1.0, 0.1, h),
                r.gaussian(p + "self_attn.q_proj.weight", STD, h, h),
                r.gaussian(p + "self_attn.q_proj.bias", STD, h),
                r.gaussian(p + "self_attn.k_proj.weight", STD, kv, h),
                r.gaussian(p + "self_attn.k_proj.bias", STD, kv),
                r.gaussian(p + "self_attn.v_proj.weight", STD, kv, h),
                r.gaussian(p + "self_attn.v_proj.bias", STD, kv),
                r.gaussian(p + "self_attn.o_proj.weight", STD, h, h),
                r.vector(p + "post_attention_layernorm.weight", 1.0, 0.1, h),
                r.gaussian(p + "mlp.gate_proj.weight", STD, inter, h),
                r.gaussian(p + "mlp.up_proj.weight", STD, inter, h),
                r.gaussian(p + "mlp.down_proj.weight", STD, h, inter));
        return new LayerTensors(layer, r.gaussian("lm_head.weight", STD, s.vocab(), h));
    }
}
