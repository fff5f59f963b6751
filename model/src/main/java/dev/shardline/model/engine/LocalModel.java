package dev.shardline.model.engine;

import dev.shardline.model.chat.ChatTemplate;
import dev.shardline.model.checkpoint.LoadProgress;
import dev.shardline.model.source.ModelSource;
import dev.shardline.model.source.ModelSources;
import dev.shardline.model.source.NoTokenizerException;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.Backends;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.tokenizer.Tokenizer;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.model.weights.ResidentWeights;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A whole checkpoint opened in this process: config, tokenizer, chat template, generation defaults, the
 * memory-mapped weights of every layer and a compute backend. {@link #open} does the I/O; closing it unmaps
 * the weights and stops the backend's threads.
 */
public final class LocalModel implements AutoCloseable {
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final GenerationDefaults generationDefaults;
    private final Qwen2Forward forward;
    private final List<Integer> eosTokenIds;

    /** {@code tokenizer} is null for a checkpoint without one (token ids in and out). */
    public LocalModel(ModelConfig config, Tokenizer tokenizer, GenerationDefaults generationDefaults, Qwen2Forward forward) {
        this.config = config;
        this.tokenizer = tokenizer;
        this.generationDefaults = generationDefaults;
        this.forward = forward;
        Set<Integer> eos = new LinkedHashSet<>(generationDefaults.eosTokenIds());
        eos.addAll(config.eosTokenIds());
        this.eosTokenIds = List.copyOf(eos);
    }

    /** Opens {@code dir} (a checkpoint directory or a .gguf file) on backend "cpu" or "reference" with {@code threads} threads; progress may be null. */
    public static LocalModel open(Path dir, String backend, int threads, Consumer<LoadProgress> progress) {
        return open(dir, backend, threads, ResidentWeights.Mode.COPY, progress);
    }

    /** As {@link #open(Path, String, int, Consumer)}, choosing how the weights are held. */
    public static LocalModel open(Path dir, String backend, int threads, ResidentWeights.Mode weightsMode,
                                  Consumer<LoadProgress> progress) {
        return open(dir, Backends.create(backend, threads), weightsMode, progress);
    }

    /**
     * Opens {@code dir} on the given kernels (a GPU backend from the worker module, for instance), which this model
     * then owns and closes; the weights are prepared on the backend before the first step (a GPU uploads them).
     */
    public static LocalModel open(Path dir, Kernels kernels, ResidentWeights.Mode weightsMode,
                                  Consumer<LoadProgress> progress) {
        try {
            ModelSource source = ModelSources.open(dir);
            ModelConfig config = source.config();
            GenerationDefaults defaults = source.generationDefaults();
            Tokenizer tokenizer = source.tokenizer().orElse(null);
            ModelWeights weights = source.load(LayerRange.whole(config.numHiddenLayers()), progress);
            if (weightsMode == ResidentWeights.Mode.COPY) {
                weights = ResidentWeights.copyOf(weights, null);
            }
            if (kernels instanceof VectorKernels cpu) {
                cpu.warmUp(weights);  // compiles the vector loops before the first request, ~2 s
            }
            int layers = config.numHiddenLayers();
            long total = weights.bytesPerDecodedToken() + (weights.embedding() == null ? 0 : weights.embedding().byteSize());
            kernels.prepare(weights, progress == null ? null
                    : bytes -> progress.accept(new LoadProgress(layers, layers, bytes, total, "upload to " + kernels.name())));
            return new LocalModel(config, tokenizer, defaults, new Qwen2Forward(weights, kernels));
        } catch (RuntimeException e) {
            kernels.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** The tokenizer; a checkpoint without one fails here with a clear error (token ids still work). */
    public Tokenizer tokenizer() {
        if (tokenizer == null) {
            throw new NoTokenizerException("this checkpoint has no tokenizer (no tokenizer.json, or a GGUF without a "
                    + "vocabulary): give token ids (--token-ids) instead of text");
        }
        return tokenizer;
    }

    public boolean hasTokenizer() {
        return tokenizer != null;
    }

    /** QwQ's template, rendered natively (see ChatTemplate); used for every Qwen2 checkpoint for now. */
    public ChatTemplate chatTemplate() {
        return ChatTemplate.qwq();
    }

    public GenerationDefaults generationDefaults() {
        return generationDefaults;
    }

    /** EOS ids from generation_config.json and config.json together. */
    public List<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    public Qwen2Forward forward() {
        return forward;
    }

    public TextGenerator textGenerator() {
        return new TextGenerator(forward, tokenizer, eosTokenIds);
    }

    @Override
    public void close() {
        forward.close();
        forward.kernels().close();
        forward.weights().close();
    }
}
