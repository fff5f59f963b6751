package dev.shardline.model.source;

import dev.shardline.model.checkpoint.LoadProgress;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.tokenizer.Tokenizer;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A model on disk, whatever its format: a Hugging Face checkpoint directory (config.json + safetensors) or a GGUF
 * file (single, split {@code -00001-of-0000N.gguf}, or a directory holding one). Opening reads headers and metadata
 * only; {@link #load} maps the tensors of one layer range. Every place that takes {@code --model} opens it with
 * {@link ModelSources#open(Path)}.
 */
public interface ModelSource {

    /** The path given ({@code --model}). */
    Path path();

    /** "safetensors" or "gguf". */
    String format();

    ModelConfig config();

    /** Identifies the weights, equal on every process that opens the same model (see ModelFingerprint). */
    String fingerprint();

    /** Sampling defaults, with {@link GenerationDefaults#source()} saying where they came from. */
    GenerationDefaults generationDefaults();

    /** The tokenizer, or empty when the checkpoint has none (token ids in and out only). */
    Optional<Tokenizer> tokenizer();

    /** The tokenizer, or an error saying this checkpoint has none and that token ids still work. */
    default Tokenizer requireTokenizer() {
        return tokenizer().orElseThrow(() -> new NoTokenizerException(path() + ": this checkpoint has no tokenizer "
                + "(no tokenizer.json, or a GGUF without a vocabulary): give token ids (--token-ids) instead of text"));
    }

    /** The chat template string the checkpoint carries, if any (GGUF {@code tokenizer.chat_template}). */
    Optional<String> chatTemplateSource();

    /** Weight bytes per decoder layer (index = layer) and of the embedding, final norm and lm_head, from headers. */
    WeightSizes weightSizes();

    /** Maps the tensors of {@code range}; progress (nullable) is told after each layer and after the head. */
    ModelWeights load(LayerRange range, Consumer<LoadProgress> progress);

    /** One line for logs: format, weight types and size. */
    String describe();
}
