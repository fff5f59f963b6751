package dev.shardline.model.checkpoint;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.source.ModelSource;
import dev.shardline.model.source.WeightSizes;
import dev.shardline.model.tokenizer.Tokenizer;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A Hugging Face checkpoint directory as a {@link ModelSource}: config.json, safetensors weights (single or sharded),
 * and the optional tokenizer.json and generation_config.json. A checkpoint without tokenizer.json still runs on
 * token ids.
 */
public final class SafetensorsModel implements ModelSource {
    private final ModelDirectory files;
    private final ModelConfig config;
    private final Checkpoint checkpoint;
    private final GenerationDefaults defaults;
    private Optional<Tokenizer> tokenizer;   // read on first use

    private SafetensorsModel(ModelDirectory files, ModelConfig config, Checkpoint checkpoint, GenerationDefaults defaults,
                             Optional<Tokenizer> tokenizer) {
        this.files = files;
        this.config = config;
        this.checkpoint = checkpoint;
        this.defaults = defaults;
        this.tokenizer = tokenizer;
    }

    /** Reads config.json, the weight headers, generation_config.json and tokenizer.json (when present). */
    public static SafetensorsModel open(Path dir) {
        ModelDirectory files = ModelDirectory.of(dir);
        ModelConfig config = files.readConfig();
        Checkpoint ckpt = Checkpoint.open(dir);
        GenerationDefaults defaults = GenerationDefaults.read(files.generationConfigJson());
        return new SafetensorsModel(files, config, ckpt, defaults, null);
    }

    @Override
    public Path path() {
        return files.dir();
    }

    @Override
    public String format() {
        return "safetensors";
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public String fingerprint() {
        return ModelFingerprint.of(files.dir());
    }

    @Override
    public GenerationDefaults generationDefaults() {
        return defaults;
    }

    @Override
    public synchronized Optional<Tokenizer> tokenizer() {
        if (tokenizer == null) {
            tokenizer = files.hasTokenizer() ? Optional.of(Tokenizer.load(files.tokenizerJson())) : Optional.empty();
        }
        return tokenizer;
    }

    @Override
    public Optional<String> chatTemplateSource() {
        Path p = files.tokenizerConfigJson();
        if (!Files.isRegularFile(p)) return Optional.empty();
        try {
            Object t = dev.shardline.model.json.Json.parseObject(Files.readString(p)).get("chat_template");
            return t instanceof String s ? Optional.of(s) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public WeightSizes weightSizes() {
        List<Long> layers = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            long b = 0;
            for (Qwen2Tensors.Spec s : Qwen2Tensors.layer(config, i)) {
                b += checkpoint.entry(s.name()).byteSize();
            }
            layers.add(b);
        }
        return new WeightSizes(layers, checkpoint.entry(Qwen2Tensors.EMBEDDING).byteSize(),
                checkpoint.entry(Qwen2Tensors.FINAL_NORM).byteSize(),
                checkpoint.entry(Qwen2Tensors.lmHead(config).name()).byteSize(), config.tieWordEmbeddings());
    }

    @Override
    public ModelWeights load(LayerRange range, Consumer<LoadProgress> progress) {
        return CheckpointLoader.load(files.dir(), config, range, progress);
    }

    @Override
    public String describe() {
        return String.format("safetensors %s (%d file%s, %.2f GB)", files.dir(), checkpoint.files().size(),
                checkpoint.files().size() == 1 ? "" : "s", checkpoint.totalTensorBytes() / 1e9);
    }
}
