package dev.shardline.coordinator.generation;

import dev.shardline.model.chat.ChatTemplate;
import dev.shardline.model.source.ModelSource;
import dev.shardline.model.source.ModelSources;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What the coordinator knows about the model it serves without holding any weights: its id, config, tokenizer,
 * chat template, generation defaults and EOS ids.
 */
public record ServedModel(String id, ModelConfig config, Tokenizer tokenizer, ChatTemplate chatTemplate,
                          GenerationDefaults defaults, List<Integer> eosTokenIds) {

    /** {@code path}: a checkpoint directory or a GGUF file (see ModelSources); the coordinator needs its tokenizer. */
    public static ServedModel open(String id, Path path) {
        return open(id, ModelSources.open(path));
    }

    public static ServedModel open(String id, ModelSource source) {
        ModelConfig config = source.config();
        GenerationDefaults defaults = source.generationDefaults();
        Set<Integer> eos = new LinkedHashSet<>(defaults.eosTokenIds());
        eos.addAll(config.eosTokenIds());
        return new ServedModel(id, config, source.requireTokenizer(), ChatTemplate.qwq(), defaults, List.copyOf(eos));
    }

    /** Ids the last stage may sample: the tokenizer's (the embedding's padding rows are never emitted). */
    public int sampleVocabLimit() {
        return Math.min(config.vocabSize(), tokenizer.vocabSize());
    }
}
