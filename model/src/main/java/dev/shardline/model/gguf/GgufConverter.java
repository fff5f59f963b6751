package dev.shardline.model.gguf;

import dev.shardline.model.checkpoint.ModelDirectory;
import dev.shardline.model.checkpoint.Qwen2Tensors;
import dev.shardline.model.checkpoint.SafetensorsModel;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.json.Json;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.Quantizer;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Shardline's own converter: a Hugging Face Qwen2 checkpoint (config.json, safetensors, tokenizer.json) into one
 * GGUF file quantized to Q8_0 or Q4_K_M, with llama.cpp's tensor names, metadata keys and per-tensor type choice
 * (Q4_K_M: Q6_K for lm_head and for attn_v / ffn_down in the layers llama.cpp gives more bits; norms and biases F32).
 * A matrix whose rows are not whole 256-element blocks is written Q8_0 instead of a K type (as llama.cpp falls back).
 */
public final class GgufConverter {

    /** The presets of {@code model create --quant}: llama.cpp's Q8_0 and Q4_K_M, and BF16 (the weights as they are). */
    public enum Scheme {
        Q8_0(7), Q4_K_M(15), BF16(32);

        final int fileType;   // llama.cpp's general.file_type

        Scheme(int fileType) {
            this.fileType = fileType;
        }

        public static Scheme parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "q8_0" -> Q8_0;
                case "q4_k_m" -> Q4_K_M;
                case "bf16" -> BF16;
                default -> throw new IllegalArgumentException("--quant must be q8_0, q4_k_m or bf16, got \"" + s + "\"");
            };
        }
    }

    private GgufConverter() {
    }

    /** Converts {@code hfDir} into {@code out}; progress lines (nullable) after each tensor. */
    public static void convert(Path hfDir, Path out, Scheme scheme, String name, Consumer<String> progress) {
        SafetensorsModel source = SafetensorsModel.open(hfDir);
        ModelConfig c = source.config();
        Map<String, Object> md = metadata(c, scheme, name);
        ModelDirectory files = ModelDirectory.of(hfDir);
        if (files.hasTokenizer()) {
            vocabulary(files, c.vocabSize(), md);
        } else {
            md.put("tokenizer.ggml.model", "none");
        }
        try (ModelWeights w = source.load(LayerRange.whole(c.numHiddenLayers()), null)) {
            List<GgufWriter.Tensor> tensors = new ArrayList<>();
            int[] done = {0};
            int layers = c.numHiddenLayers();
            List<WeightTensor> all = new ArrayList<>();
            all.add(w.embedding());
            for (LayerWeights l : w.layers()) {
                all.addAll(List.of(l.inputNorm(), l.qWeight(), l.qBias(), l.kWeight(), l.kBias(), l.vWeight(),
                        l.vBias(), l.oWeight(), l.postNorm(), l.gateWeight(), l.upWeight(), l.downWeight()));
            }
            all.add(w.finalNorm());
            if (!c.tieWordEmbeddings()) all.add(w.lmHead());
            for (WeightTensor t : all) {
                String gname = GgufNames.toGguf(t.name());
                DType type = typeFor(scheme, t, gname, layers);
                int total = all.size();
                tensors.add(new GgufWriter.Tensor(gname, GgmlType.of(type), t.shape(), dst -> {
                    write(t, type, dst);
                    done[0]++;
                    if (progress != null) progress.accept(String.format("%d/%d %s %s", done[0], total, gname, type));
                }));
            }
            GgufWriter.write(out, md, tensors);
        }
    }

    /** llama.cpp's choice for Q4_K_M and Q8_0 (norms and biases stay F32); BF16 for every matrix with BF16. */
    static DType typeFor(Scheme scheme, WeightTensor t, String gname, int layers) {
        if (t.shape().length == 1) {
            return DType.F32;
        }
        if (scheme == Scheme.BF16) {
            return DType.BF16;
        }
        DType want = DType.Q8_0;
        if (scheme == Scheme.Q4_K_M) {
            want = DType.Q4_K;
            if (gname.equals("output.weight")) {
                want = DType.Q6_K;
            } else if (gname.endsWith("attn_v.weight") || gname.endsWith("ffn_down.weight")) {
                int layer = Integer.parseInt(gname.split("\\.")[1]);
                if (moreBits(layer, layers)) want = DType.Q6_K;
            }
        }
        return t.cols() % want.blockSize() == 0 ? want : DType.Q8_0;
    }

    /** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between. */
    static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** Round to nearest even, as torch and llama.cpp convert f32 to bf16 (NaN stays NaN). */
    static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static void write(WeightTensor t, DType type, java.lang.foreign.MemorySegment dst) {
        int cols = t.cols();
        int rows = t.shape().length == 1 ? 1 : t.rows();
        if (t.shape().length == 1) cols = t.rows();
        if (type == t.dtype()) {   // BF16 from BF16: the bytes as they are
            dst.asSlice(0, t.byteSize()).copyFrom(t.data());
            return;
        }
        float[] row = new float[cols];
        long rowBytes = type.bytesFor(cols);
        for (int r = 0; r < rows; r++) {
            t.read((long) r * cols, row);
            if (type == DType.BF16) {
                for (int i = 0; i < cols; i++) {
                    dst.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), r * rowBytes + 2L * i, bf16(row[i]));
                }
            } else if (type == DType.F32) {
                for (int i = 0; i < cols; i++) {
                    dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), r * rowBytes + 4L * i, row[i]);
                }
            } else {
                Quantizer.quantize(type, row, 0, cols, dst, r * rowBytes);
            }
        }
    }

    private static Map<String, Object> metadata(ModelConfig c, Scheme scheme, String name) {
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("general.architecture", "qwen2");
        md.put("general.name", name);
        md.put("general.file_type", scheme.fileType);
        md.put("qwen2.block_count", c.numHiddenLayers());
        md.put("qwen2.context_length", c.maxPositionEmbeddings());
        md.put("qwen2.embedding_length", c.hiddenSize());
        md.put("qwen2.feed_forward_length", c.intermediateSize());
        md.put("qwen2.attention.head_count", c.numAttentionHeads());
        md.put("qwen2.attention.head_count_kv", c.numKeyValueHeads());
        md.put("qwen2.rope.freq_base", (float) c.ropeTheta());
        md.put("qwen2.attention.layer_norm_rms_epsilon", (float) c.rmsNormEps());
        if (c.ropeScaling() != null) {
            md.put("qwen2.rope.scaling.type", "yarn");
            md.put("qwen2.rope.scaling.factor", (float) c.ropeScaling().factor());
            md.put("qwen2.rope.scaling.original_context_length", c.ropeScaling().originalMaxPositionEmbeddings());
        }
        if (c.bosTokenId() >= 0) md.put("tokenizer.ggml.bos_token_id", c.bosTokenId());
        if (!c.eosTokenIds().isEmpty()) md.put("tokenizer.ggml.eos_token_id", c.eosTokenIds().getFirst());
        return md;
    }

    /**
     * Qwen's tokenizer.json as llama.cpp's converter writes it: gpt2 + qwen2 pre-tokenizer, tokens, types, merges.
     * The token list is padded with unused {@code [PADi]} tokens up to the embedding's rows ({@code vocabSize}; QwQ:
     * 151665 tokens, 152064 rows), as llama.cpp's loader requires one token per row.
     */
    @SuppressWarnings("unchecked")
    private static void vocabulary(ModelDirectory files, int vocabSize, Map<String, Object> md) {
        try {
            Map<String, Object> root = Json.parseObject(Files.readString(files.tokenizerJson()));
            Map<String, Object> model = (Map<String, Object>) root.get("model");
            Map<String, Object> vocab = (Map<String, Object>) model.get("vocab");
            List<Object> added = (List<Object>) root.getOrDefault("added_tokens", List.of());
            int size = vocabSize;
            for (Object id : vocab.values()) size = Math.max(size, (int) (long) (Long) id + 1);
            for (Object a : added) size = Math.max(size, (int) (long) (Long) ((Map<String, Object>) a).get("id") + 1);
            String[] tokens = new String[size];
            Integer[] types = new Integer[size];
            vocab.forEach((tok, id) -> {
                tokens[(int) (long) (Long) id] = tok;
                types[(int) (long) (Long) id] = 1;
            });
            for (Object a : added) {
                Map<String, Object> m = (Map<String, Object>) a;
                int id = (int) (long) (Long) m.get("id");
                tokens[id] = (String) m.get("content");
                types[id] = Boolean.TRUE.equals(m.get("special")) ? 3 : 4;
            }
            for (int i = 0; i < size; i++) {
                if (tokens[i] == null) {
                    tokens[i] = "[PAD" + i + "]";
                    types[i] = 5;
                }
            }
            List<String> merges = new ArrayList<>();
            for (Object m : (List<Object>) model.get("merges")) {
                merges.add(m instanceof String s ? s : ((List<Object>) m).get(0) + " " + ((List<Object>) m).get(1));
            }
            md.put("tokenizer.ggml.model", "gpt2");
            md.put("tokenizer.ggml.pre", "qwen2");
            md.put("tokenizer.ggml.tokens", List.of(tokens));
            md.put("tokenizer.ggml.token_type", List.of(types));
            md.put("tokenizer.ggml.merges", merges);
            if (Files.isRegularFile(files.tokenizerConfigJson())) {
                Object tpl = Json.parseObject(Files.readString(files.tokenizerConfigJson())).get("chat_template");
                if (tpl instanceof String s) md.put("tokenizer.chat_template", s);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the tokenizer of " + files.dir() + ": " + e.getMessage(), e);
        }
    }
}
