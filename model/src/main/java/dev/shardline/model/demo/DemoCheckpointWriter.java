package dev.shardline.model.demo;

import dev.shardline.model.checkpoint.Checkpoint;
import dev.shardline.model.checkpoint.Qwen2Tensors;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.json.Json;
import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.safetensors.SafetensorsWriter;
import dev.shardline.model.tensor.DType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Writes a complete Hugging Face-layout checkpoint with random bf16 weights: config.json, generation_config.json,
 * tokenizer files, README.md and model.safetensors (or N shards plus model.safetensors.index.json). Weights and biases
 * are normal(0, 0.02), norms 1.0; each tensor depends only on (seed, name), so sharded and single-file checkpoints
 * hold identical tensors. Data is generated in parallel straight into the mapped output files.
 */
public final class DemoCheckpointWriter {

    private DemoCheckpointWriter() {
    }

    /**
     * Writes the preset. {@code layers} -1 = the preset's default; {@code shards} 1 = model.safetensors;
     * {@code tokenizerJson} null = no tokenizer.json (tests); {@code tokenizerConfigJsonFromNpm} (nullable) supplies
     * the added-tokens table. Returns the config written.
     */
    public static ModelConfig write(DemoPreset preset, int layers, Path outDir, int shards, long seed,
                                    Path tokenizerJson, Path tokenizerConfigJsonFromNpm, Consumer<String> progress) {
        ModelConfig config = preset.config(layers);
        Consumer<String> say = progress == null ? s -> { } : progress;
        try {
            Files.createDirectories(outDir);
            Files.writeString(outDir.resolve("config.json"), Json.writePretty(config.toJsonMap()) + "\n");
            Files.writeString(outDir.resolve("generation_config.json"), Json.writePretty(generationConfig()) + "\n");
            if (tokenizerJson != null) {
                Files.copy(tokenizerJson, outDir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            }
            Files.writeString(outDir.resolve("tokenizer_config.json"),
                    Json.writePretty(DemoTokenizerConfig.build(tokenizerConfigJsonFromNpm)) + "\n");
            Files.writeString(outDir.resolve("README.md"), readme(preset, config, seed));
        } catch (IOException e) {
            throw new CheckpointException(outDir + ": cannot write demo checkpoint: " + e.getMessage(), e);
        }
        say.accept("wrote config.json, generation_config.json, tokenizer_config.json"
                + (tokenizerJson != null ? ", tokenizer.json" : "") + ", README.md");
        writeWeights(config, outDir, shards, seed, say);
        return config;
    }

    /** Writes only the weight files for any Qwen2 config (tests use small custom configs). */
    public static void writeWeights(ModelConfig config, Path outDir, int shards, long seed, Consumer<String> progress) {
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be >= 1, got " + shards);
        }
        Consumer<String> say = progress == null ? s -> { } : progress;
        List<Qwen2Tensors.Spec> specs = Qwen2Tensors.all(config);
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        long total = 0;
        for (Qwen2Tensors.Spec s : specs) {
            SafetensorsWriter.Filler filler = s.isNorm() ? DemoWeights::fillOnes
                    : target -> DemoWeights.fillGaussian(target, seed, s.name(), DemoWeights.STD);
            SafetensorsWriter.Tensor t = new SafetensorsWriter.Tensor(s.name(), DType.BF16, s.shape(), filler);
            tensors.add(t);
            total += t.byteSize();
        }
        removeOldWeights(outDir);
        long totalBytes = total;
        if (shards == 1) {
            SafetensorsWriter.write(outDir.resolve(Checkpoint.SINGLE_FILE), tensors,
                    (name, done, all) -> say.accept(line(name, done, totalBytes)));
            return;
        }
        List<List<SafetensorsWriter.Tensor>> split = split(tensors, shards);
        Map<String, Object> weightMap = new LinkedHashMap<>();
        long before = 0;
        for (int k = 0; k < shards; k++) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", k + 1, shards);
            long offset = before;
            SafetensorsWriter.write(outDir.resolve(file), split.get(k),
                    (name, done, all) -> say.accept(file + ": " + line(name, offset + done, totalBytes)));
            for (SafetensorsWriter.Tensor t : split.get(k)) {
                weightMap.put(t.name(), file);
                before += t.byteSize();
            }
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", Map.of("total_size", totalBytes));
        index.put("weight_map", weightMap);
        try {
            Files.writeString(outDir.resolve(Checkpoint.INDEX_FILE), Json.writePretty(index) + "\n");
        } catch (IOException e) {
            throw new CheckpointException(outDir.resolve(Checkpoint.INDEX_FILE) + ": cannot write: " + e.getMessage(), e);
        }
    }

    /**
     * Splits tensors, in order, into {@code shards} non-empty runs balanced by bytes: a tensor goes to the shard in
     * which its byte midpoint falls, clamped so that no shard is skipped or left empty.
     */
    static List<List<SafetensorsWriter.Tensor>> split(List<SafetensorsWriter.Tensor> tensors, int shards) {
        int n = tensors.size();
        if (shards > n) {
            throw new IllegalArgumentException(shards + " shards for only " + n + " tensors");
        }
        long total = 0;
        for (SafetensorsWriter.Tensor t : tensors) total += t.byteSize();
        List<List<SafetensorsWriter.Tensor>> out = new ArrayList<>();
        for (int k = 0; k < shards; k++) out.add(new ArrayList<>());
        long before = 0;
        int prev = 0;
        for (int i = 0; i < n; i++) {
            SafetensorsWriter.Tensor t = tensors.get(i);
            double mid = (before + t.byteSize() / 2.0) / Math.max(1, total);
            int want = (int) Math.min(shards - 1, Math.floor(mid * shards));
            int lo = Math.max(prev, shards - (n - i));        // leave a tensor for every remaining shard
            int hi = i == 0 ? 0 : Math.min(prev + 1, shards - 1);
            int s = Math.max(lo, Math.min(hi, want));
            out.get(s).add(t);
            prev = s;
            before += t.byteSize();
        }
        return out;
    }

    private static void removeOldWeights(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot create directory: " + e.getMessage(), e);
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir,
                "{model.safetensors,model.safetensors.index.json,model-*-of-*.safetensors}")) {
            for (Path p : ds) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot remove old weight files: " + e.getMessage(), e);
        }
    }

    private static String line(String tensor, long done, long total) {
        return String.format(Locale.ROOT, "%s (%.1f / %.1f MB)", tensor, done / 1e6, total / 1e6);
    }

    static Map<String, Object> generationConfig() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bos_token_id", 151643L);
        m.put("do_sample", true);
        m.put("eos_token_id", List.of(151645L, 151643L));
        m.put("pad_token_id", 151643L);
        m.put("repetition_penalty", 1.0);
        m.put("temperature", 0.6);
        m.put("top_k", 40L);
        m.put("top_p", 0.95);
        return m;
    }

    private static String readme(DemoPreset preset, ModelConfig c, long seed) {
        return "# Shardline demo checkpoint (" + preset.cliName() + ")\n\n"
                + "**The weights are random.** This model produces meaningless text; it exists to exercise the engine\n"
                + "(loading, sharding, speed) without downloading a real model.\n\n"
                + "- shape: hidden " + c.hiddenSize() + ", intermediate " + c.intermediateSize() + ", layers "
                + c.numHiddenLayers() + ", heads " + c.numAttentionHeads() + "/" + c.numKeyValueHeads()
                + ", vocab " + c.vocabSize() + ", tied embeddings " + c.tieWordEmbeddings() + "\n"
                + "- weights: bf16, normal(0, 0.02) (Irwin-Hall approximation), norms 1.0, seed " + seed + "\n"
                + "- tokenizer_config.json carries QwQ-32B's chat template and special tokens\n";
    }
}
