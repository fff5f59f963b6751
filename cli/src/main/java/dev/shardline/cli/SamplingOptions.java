package dev.shardline.cli;

import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.sampling.SamplingParams;
import picocli.CommandLine.Option;

import java.util.List;

/** Sampling flags; unset ones fall back to the checkpoint's generation_config.json. */
final class SamplingOptions {
    @Option(names = "--max-tokens", defaultValue = "256", paramLabel = "N", description = "most tokens to generate (default 256)")
    int maxTokens;
    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (default from generation_config.json)")
    Double temperature;
    @Option(names = "--top-p", paramLabel = "P")
    Double topP;
    @Option(names = "--top-k", paramLabel = "K")
    Integer topK;
    @Option(names = "--min-p", paramLabel = "P")
    Double minP;
    @Option(names = "--presence-penalty", paramLabel = "X")
    Double presencePenalty;
    @Option(names = "--frequency-penalty", paramLabel = "X")
    Double frequencyPenalty;
    @Option(names = "--repetition-penalty", paramLabel = "X")
    Double repetitionPenalty;
    @Option(names = "--seed", paramLabel = "S", description = "seed for reproducible sampling")
    Long seed;
    @Option(names = "--stop", paramLabel = "TEXT", description = "stop string (repeatable)")
    List<String> stop = List.of();
    @Option(names = "--ignore-eos", description = "keep generating past end-of-sequence tokens")
    boolean ignoreEos;

    SamplingParams resolve(GenerationDefaults defaults) {
        return SamplingOptionsResolver.resolve(this, defaults);
    }
}
