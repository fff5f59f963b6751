package dev.shardline.model.gguf;

import dev.shardline.model.checkpoint.Qwen2Tensors;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** A GGUF Q8_0 Qwen2 of random blocks written straight with {@link GgufWriter} (no float copy of it ever exists). */
final class BigQuantizedModel {
    private BigQuantizedModel() {
    }

    static void write(Path out, int hidden, int intermediate, int layers, int vocab) {
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("general.architecture", "qwen2");
        md.put("general.name", "random q8_0 test model");
        md.put("qwen2.block_count", layers);
        md.put("qwen2.context_length", 4096);
        md.put("qwen2.embedding_length", hidden);
        md.put("qwen2.feed_forward_length", intermediate);
        md.put("qwen2.attention.head_count", hidden / 128);
        md.put("qwen2.attention.head_count_kv", Math.max(1, hidden / 512));
        md.put("qwen2.rope.freq_base", 1e6f);
        md.put("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
        md.put("tokenizer.ggml.model", "none");
        ModelConfig c = new ModelConfig("qwen2", hidden, intermediate, layers, hidden / 128, Math.max(1, hidden / 512),
                vocab, 1e-6, 1e6, 4096, false, null, "silu", "gguf", -1, List.of());
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(17);
        for (Qwen2Tensors.Spec s : Qwen2Tensors.all(c)) {
            boolean vector = s.shape().length == 1;
            GgmlType type = vector ? GgmlType.F32 : GgmlType.Q8_0;
            long seed = rnd.nextLong();
            tensors.add(new GgufWriter.Tensor(GgufNames.toGguf(s.name()), type, s.shape(),
                    dst -> fill(dst, vector, s.isNorm(), new SplittableRandom(seed))));
        }
        GgufWriter.write(out, md, tensors);
    }

    private static void fill(MemorySegment dst, boolean vector, boolean norm, SplittableRandom rnd) {
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        if (vector) {
            for (long i = 0; i < dst.byteSize() / 4; i++) dst.set(f32, 4 * i, norm ? 1f : (float) (rnd.nextDouble() - 0.5) * 0.1f);
            return;
        }
        long bytes = dst.byteSize();
        ValueLayout.OfLong i64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        long i = 0;
        for (; i + 8 <= bytes; i += 8) dst.set(i64, i, rnd.nextLong());
        for (; i < bytes; i++) dst.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        ValueLayout.OfShort f16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long b = 0; b < bytes; b += DType.Q8_0.blockBytes()) {
            dst.set(f16, b, Float.floatToFloat16(2e-4f));   // |w| <= 0.025
        }
    }
}
