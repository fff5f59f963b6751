package dev.shardline.coordinator.plan;

import dev.shardline.model.checkpoint.Qwen2Tensors;
import dev.shardline.model.config.ModelConfig;

import java.util.List;
import java.util.SplittableRandom;

/** Model shapes for planner tests, and stage bytes computed independently from the checkpoint tensor list. */
final class Shapes {
    static final List<Integer> EOS = List.of(151645, 151643);

    private Shapes() {
    }

    static ModelConfig qwq(int layers) {
        return new ModelConfig("qwen2", 5120, 27648, layers, 40, 8, 152064, 1e-5, 1e6, 40960, false, null,
                "silu", "bfloat16", 151643, EOS);
    }

    static ModelConfig tiny(int layers, boolean tied) {
        return new ModelConfig("qwen2", 64, 128, layers, 4, 2, 512, 1e-6, 1e6, 4096, tied, null,
                "silu", "bfloat16", 1, List.of(2));
    }

    static ModelConfig random(SplittableRandom r) {
        int layers = 1 + r.nextInt(64);
        return switch (r.nextInt(3)) {
            case 0 -> qwq(layers);
            case 1 -> tiny(layers, r.nextBoolean());
            default -> {
                int heads = 2 << r.nextInt(4);
                int kv = heads >> r.nextInt(2);
                int headDim = 16 << r.nextInt(3);
                yield new ModelConfig("qwen2", heads * headDim, 64 * (1 + r.nextInt(40)), layers, heads, kv,
                        1000 + r.nextInt(100_000), 1e-6, 1e6, 4096, r.nextBoolean(), null, "silu", "bfloat16", 1, List.of(2));
            }
        };
    }

    static long size(Qwen2Tensors.Spec s) {
        long n = 1;
        for (long d : s.shape()) n *= d;
        return n;
    }

    /** Bytes of one decoder layer: the sum of its twelve checkpoint tensors. */
    static long layerBytes(ModelConfig c, int bpe) {
        return Qwen2Tensors.layer(c, 0).stream().mapToLong(Shapes::size).sum() * bpe;
    }

    /** Weight bytes of a stage, from the checkpoint tensors it must map. */
    static long stageBytes(ModelConfig c, int bpe, int count, boolean first, boolean last) {
        long b = count * layerBytes(c, bpe);
        if (first) b += size(Qwen2Tensors.embedding(c)) * bpe;
        if (last) {
            b += size(Qwen2Tensors.finalNorm(c)) * bpe;
            boolean shared = c.tieWordEmbeddings() && first;
            if (!shared) b += size(Qwen2Tensors.lmHead(c)) * bpe;
        }
        return b;
    }

    /** Time of a stage in layer-equivalents: bytes read per step / layer bytes / speed. */
    static double stageTime(ModelConfig c, int bpe, int count, boolean last, double speed) {
        long read = count * layerBytes(c, bpe);
        if (last) read += (size(Qwen2Tensors.finalNorm(c)) + size(Qwen2Tensors.lmHead(c))) * bpe;
        return (double) read / layerBytes(c, bpe) / speed;
    }

    static long kvPerTokenPerLayer(ModelConfig c) {
        return 2L * c.numKeyValueHeads() * (c.hiddenSize() / c.numAttentionHeads()) * 4;
    }
}
