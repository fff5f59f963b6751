package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Random bf16 weights held in memory, for forward-pass tests that need no files. Deterministic per (seed, name). */
final class InMemoryWeights {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static ModelConfig config(int hidden, int layers, int heads, int kvHeads, int intermediate, int vocab, boolean tied) {
        return new ModelConfig("qwen2", hidden, intermediate, layers, heads, kvHeads, vocab, 1e-6, 1e6, 4096, tied,
                null, "silu", "bfloat16", 0, List.of(1));
    }

    /** Weights of the given range, all from one seed, so ranges of one model share their tensors' values. */
    static ModelWeights create(ModelConfig c, LayerRange range, long seed) {
        Arena arena = Arena.ofShared();
        int h = c.hiddenSize();
        WeightTensor embedding = (range.embedding() || (range.head() && c.tieWordEmbeddings()))
                ? tensor(arena, seed, "model.embed_tokens.weight", 0.02f, c.vocabSize(), h) : null;
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = range.start(); i < range.end(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new LayerWeights(i,
                    ones(arena, p + "input_layernorm.weight", h),
                    tensor(arena, seed, p + "self_attn.q_proj.weight", 0.02f, h, h),
                    tensor(arena, seed, p + "self_attn.q_proj.bias", 0.02f, h),
                    tensor(arena, seed, p + "self_attn.k_proj.weight", 0.02f, c.kvDim(), h),
                    tensor(arena, seed, p + "self_attn.k_proj.bias", 0.02f, c.kvDim()),
                    tensor(arena, seed, p + "self_attn.v_proj.weight", 0.02f, c.kvDim(), h),
                    tensor(arena, seed, p + "self_attn.v_proj.bias", 0.02f, c.kvDim()),
                    tensor(arena, seed, p + "self_attn.o_proj.weight", 0.02f, h, h),
                    ones(arena, p + "post_attention_layernorm.weight", h),
                    tensor(arena, seed, p + "mlp.gate_proj.weight", 0.02f, c.intermediateSize(), h),
                    tensor(arena, seed, p + "mlp.up_proj.weight", 0.02f, c.intermediateSize(), h),
                    tensor(arena, seed, p + "mlp.down_proj.weight", 0.02f, h, c.intermediateSize())));
        }
        WeightTensor norm = range.head() ? ones(arena, "model.norm.weight", h) : null;
        WeightTensor lmHead = !range.head() ? null
                : c.tieWordEmbeddings() ? embedding : tensor(arena, seed, "lm_head.weight", 0.02f, c.vocabSize(), h);
        return new ModelWeights(c, range, range.embedding() ? embedding : null, layers, norm, lmHead, arena::close);
    }

    static WeightTensor tensor(Arena arena, long seed, String name, float std, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        MemorySegment seg = arena.allocate(n * 2, 8);
        SplittableRandom r = new SplittableRandom(seed * 31 + name.hashCode());
        for (long i = 0; i < n; i++) {
            seg.set(SHORT_LE, i * 2, WeightTensor.floatToBf16((float) (r.nextGaussian() * std)));
        }
        return new WeightTensor(name, DType.BF16, shape, seg);
    }

    static WeightTensor ones(Arena arena, String name, long n) {
        MemorySegment seg = arena.allocate(n * 2, 8);
        for (long i = 0; i < n; i++) seg.set(SHORT_LE, i * 2, WeightTensor.floatToBf16(1f));
        return new WeightTensor(name, DType.BF16, new long[]{n}, seg);
    }

    private InMemoryWeights() {
    }
}
