package dev.shardline.cli.gpucheck;

import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerWeights;

/**
 * One decoder layer's random bf16 weights plus an lm_head, built in memory once per run and shared by the op
 * checks and the timings (so a GPU backend uploads each once). Weights and biases are normal(0, 0.02) like a
 * freshly initialised Qwen2; norms are normal(1, 0.1) so that the norm weight matters. QwQ shapes in comments.
 */
record LayerTensors(
        WeightTensor inputNorm,     // [5120]
        WeightTensor q,             // [5120, 5120]
        WeightTensor qBias,         // [5120]
        WeightTensor k,             // [1024, 5120]
        WeightTensor kBias,         // [1024]
        WeightTensor v,             // [1024, 5120]
        WeightTensor vBias,         // [1024]
        WeightTensor o,             // [5120, 5120]
        WeightTensor postNorm,      // [5120]
        WeightTensor gate,          // [27648, 5120]
        WeightTensor up,            // [27648, 5120]
        WeightTensor down,          // [5120, 27648]
        WeightTensor lmHead) {      // [152064, 5120]

    static final float STD = 0.02f;

    static LayerTensors create(RandomTensors r, Shapes s) {
        int h = s.hidden();
        int kv = s.kvDim();
        int inter = s.intermediate();
        String p = "model.layers.0.";
        return new LayerTensors(
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
                r.gaussian(p + "mlp.down_proj.weight", STD, h, inter),
                r.gaussian("lm_head.weight", STD, s.vocab(), h));
    }

    /** These tensors as decoder layer {@code index}. */
    LayerWeights layer(int index) {
        return new LayerWeights(index, inputNorm, q, qBias, k, kBias, v, vBias, o, postNorm, gate, up, down);
    }
}
