package dev.shardline.model.gguf;

import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.source.ModelSource;
import dev.shardline.model.source.ModelSources;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.Quant;
import dev.shardline.model.tensor.Quantizer;
import dev.shardline.model.tokenizer.QwenTokenizerSource;
import dev.shardline.model.tokenizer.Tokenizer;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shardline's own GGUF writer and quantizers: blocks round-trip through the decoder with the error their format
 * allows; a converted demo checkpoint reopens with the same config, llama.cpp's per-tensor type choice, the
 * tokenizer of its tokenizer.json, and logits close to the bf16 model's.
 */
class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void quantizersRoundTripWithinTheirFormatsError() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] x = new float[4096];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 0.05);
        double[] bound = {0.006, 0.09, 0.03};   // RMS error / RMS of the values
        DType[] types = {DType.Q8_0, DType.Q4_K, DType.Q6_K};
        try (Arena arena = Arena.ofConfined()) {
            for (int ti = 0; ti < types.length; ti++) {
                DType t = types[ti];
                MemorySegment seg = arena.allocate(t.bytesFor(x.length));
                Quantizer.quantize(t, x, 0, x.length, seg, 0);
                float[] y = new float[x.length];
                Quant.dequantize(t, seg, 0, x.length / t.blockSize(), y, 0);
                double err = 0;
                double ref = 0;
                for (int i = 0; i < x.length; i++) {
                    err += (x[i] - y[i]) * (x[i] - y[i]);
                    ref += x[i] * x[i];
                }
                double rel = Math.sqrt(err / ref);
                assertTrue(rel < bound[ti], t + ": relative RMS error " + rel);
                assertTrue(rel > bound[ti] / 100, t + ": suspiciously exact (" + rel + "), is it quantizing at all?");
            }
        }
    }

    @Test
    void convertedDemoModelReopensWithTokenizerAndCloseLogits() {
        Path hf = dir.resolve("tiny");
        Path tokenizer = QwenTokenizerSource.obtain(s -> { });
        DemoCheckpointWriter.write(DemoPreset.TINY, -1, hf, 1, 5, tokenizer, null, null);
        ModelSource bf16 = ModelSources.open(hf);
        for (GgufConverter.Scheme scheme : GgufConverter.Scheme.values()) {
            Path out = dir.resolve("tiny-" + scheme + ".gguf");
            GgufConverter.convert(hf, out, scheme, "tiny demo", null);
            GgufModel q = GgufModel.open(out);
            assertEquals(bf16.config().hiddenSize(), q.config().hiddenSize());
            assertEquals(bf16.config().numHiddenLayers(), q.config().numHiddenLayers());
            assertEquals(bf16.config().vocabSize(), q.config().vocabSize());
            assertEquals(bf16.config().ropeTheta(), q.config().ropeTheta(), 1e-3 * bf16.config().ropeTheta());
            int layers = q.config().numHiddenLayers();
            if (scheme == GgufConverter.Scheme.Q4_K_M && q.config().hiddenSize() % 256 == 0) {
                assertEquals(GgmlType.Q4_K, q.info("model.layers.0.mlp.up_proj.weight").type());
                assertEquals(GgufConverter.moreBits(0, layers) ? GgmlType.Q6_K : GgmlType.Q4_K,
                        q.info("model.layers.0.mlp.down_proj.weight").type());
            }
            assertEquals(GgmlType.F32, q.info("model.layers.0.input_layernorm.weight").type());
            // llama.cpp's loader wants one token per embedding row: the list is padded as its converter pads it
            assertEquals(q.info("model.embed_tokens.weight").ne()[1], q.metadata().list("tokenizer.ggml.tokens").size(),
                    "tokens in the file against the embedding's rows");
            Tokenizer fromJson = bf16.tokenizer().orElseThrow();
            Tokenizer fromGguf = q.tokenizer().orElseThrow();
            for (String s : List.of("Hello, world! 123", "<|im_start|>user\nHi<|im_end|>\n<think>\n", "漢字 e\u0301")) {
                assertArrayEquals(fromJson.encode(s), fromGguf.encode(s), s);
            }
            int[] prompt = fromJson.encode("The quick brown fox");
            float[] a = logits(bf16, prompt);
            float[] b = logits(q, prompt);
            double max = 0;
            double err = 0;
            for (int i = 0; i < a.length; i++) {
                max = Math.max(max, Math.abs(a[i]));
                err = Math.max(err, Math.abs(a[i] - b[i]));
            }
            if (scheme == GgufConverter.Scheme.BF16) {
                assertEquals(GgmlType.BF16, q.info("model.layers.0.mlp.up_proj.weight").type());
                assertArrayEquals(a, b, "BF16 GGUF: the checkpoint's weights, bit for bit");
                continue;
            }
            assertTrue(err < 0.15 * max, scheme + ": logits differ by " + err + " of max " + max);
            assertTrue(err > 0, scheme + ": quantized logits equal the bf16 ones exactly?");
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, GgufConverter.bf16(1.0f));
        assertEquals((short) 0x3F80, GgufConverter.bf16(Float.intBitsToFloat(0x3F808000)));   // tie, even below
        assertEquals((short) 0x3F82, GgufConverter.bf16(Float.intBitsToFloat(0x3F818000)));   // tie, even above
        assertEquals((short) 0x3F81, GgufConverter.bf16(Float.intBitsToFloat(0x3F808001)));   // above the tie
        assertEquals((short) 0xBF80, GgufConverter.bf16(-1.0f));
        assertTrue(Float.isNaN(Float.intBitsToFloat(GgufConverter.bf16(Float.NaN) << 16)));
    }

    /** llama.cpp's Q8_0 file rewritten as two split parts opens from either part or their directory, same weights. */
    @Test
    void splitPartsOpenAsOneModel() {
        Path whole = dev.shardline.model.oracle.OracleData.file("qwen2-q-q8_0.gguf");
        Path splitDir = dir.resolve("split");
        try (GgufFile f = GgufFile.open(whole)) {
            java.nio.file.Files.createDirectories(splitDir);
            List<GgufTensorInfo> infos = List.copyOf(f.tensors().values());
            for (int part = 0; part < 2; part++) {
                java.util.Map<String, Object> md = new java.util.LinkedHashMap<>();
                if (part == 0) {
                    f.metadata().forEach((k, v) -> md.put(k, metadataValue(v)));
                }
                md.put("split.no", part);
                md.put("split.count", 2);
                List<GgufWriter.Tensor> tensors = new java.util.ArrayList<>();
                for (int i = part; i < infos.size(); i += 2) {
                    GgufTensorInfo t = infos.get(i);
                    MemorySegment src = f.tensor(t.name(), t.name()).data();
                    tensors.add(new GgufWriter.Tensor(t.name(), t.type(), t.shape(), dst -> dst.copyFrom(src)));
                }
                GgufWriter.write(splitDir.resolve(String.format("m-%05d-of-00002.gguf", part + 1)), md, tensors);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        GgufModel reference = GgufModel.open(whole);
        for (Path p : List.of(splitDir.resolve("m-00002-of-00002.gguf"), splitDir)) {
            GgufModel m = GgufModel.open(p);
            assertEquals(2, m.parts().size());
            assertEquals(reference.config(), m.config());
            assertEquals(reference.fingerprint(), m.fingerprint(), "the fingerprint does not depend on the split");
            try (ModelWeights a = reference.load(LayerRange.whole(2), null); ModelWeights b = m.load(LayerRange.whole(2), null)) {
                for (long i = 0; i < a.layer(1).upWeight().elementCount(); i += 101) {
                    assertEquals(a.layer(1).upWeight().get(i), b.layer(1).upWeight().get(i));
                }
            }
        }
        java.nio.file.Path missing = dir.resolve("lonely-00001-of-00003.gguf");
        try {
            java.nio.file.Files.copy(splitDir.resolve("m-00001-of-00002.gguf"), missing);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.shardline.model.safetensors.CheckpointException.class,
                () -> GgufModel.open(missing));
        assertTrue(e.getMessage().contains("lonely-00002-of-00003.gguf") && e.getMessage().contains("missing"), e.getMessage());
    }

    /** GGUF metadata as read (Long, Double, ...) back into the writer's types. */
    private static Object metadataValue(Object v) {
        if (v instanceof Long l) return l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE ? (Object) (int) (long) l : l;
        if (v instanceof Double d) return (float) (double) d;
        if (v instanceof List<?> list) return list.stream().map(GgufWriterTest::metadataValue).toList();
        return v;
    }

    private static float[] logits(ModelSource s, int[] prompt) {
        try (ModelWeights w = s.load(LayerRange.whole(s.config().numHiddenLayers()), null);
             ReferenceKernels k = new ReferenceKernels()) {
            return new Qwen2Forward(w, k).forward(List.of(SequenceStep.ofTokens(prompt, 0, new int[]{0, 1}, true)),
                    null, KvCache.onHeap(w.config(), w.range(), 2, 16)).logitsRow(0);
        }
    }
}
