package dev.shardline.model.checkpoint;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.safetensors.CheckpointException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The well-known files of a Hugging Face checkpoint directory. {@link #of(Path)} requires config.json; the other
 * files are optional here and checked by whoever needs them ({@link #requireTokenizerJson()} and friends).
 */
public record ModelDirectory(Path dir) {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";
    public static final String TOKENIZER = "tokenizer.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    /** A checkpoint directory that exists and holds config.json. */
    public static ModelDirectory of(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir + ": model directory does not exist");
        }
        ModelDirectory d = new ModelDirectory(dir);
        if (!Files.isRegularFile(d.configJson())) {
            throw new CheckpointException(d.configJson() + ": config.json is missing; " + dir
                    + " is not a Hugging Face checkpoint directory");
        }
        return d;
    }

    public Path configJson() {
        return dir.resolve(CONFIG);
    }

    public Path generationConfigJson() {
        return dir.resolve(GENERATION_CONFIG);
    }

    public Path tokenizerJson() {
        return dir.resolve(TOKENIZER);
    }

    public Path tokenizerConfigJson() {
        return dir.resolve(TOKENIZER_CONFIG);
    }

    public boolean hasGenerationConfig() {
        return Files.isRegularFile(generationConfigJson());
    }

    public boolean hasTokenizer() {
        return Files.isRegularFile(tokenizerJson());
    }

    public Path requireTokenizerJson() {
        return require(tokenizerJson(), "the tokenizer");
    }

    public Path requireTokenizerConfigJson() {
        return require(tokenizerConfigJson(), "the chat template and special tokens");
    }

    /** Parses config.json. */
    public ModelConfig readConfig() {
        return ModelConfig.read(configJson());
    }

    private Path require(Path p, String why) {
        if (!Files.isRegularFile(p)) {
            throw new CheckpointException(p + ": missing; it holds " + why + " of the model in " + dir);
        }
        return p;
    }
}
