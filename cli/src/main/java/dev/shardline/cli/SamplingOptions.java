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

    /** The flags as the client API's sampling message (unset flags stay unset: the server applies its defaults). */
    dev.shardline.proto.v1.SamplingParams toProto() {
        var b = dev.shardline.proto.v1.SamplingParams.newBuilder().setMaxTokens(maxTokens).addAllStop(stop)
                .setIgnoreEos(ignoreEos);
        if (temperature != null) b.setTemperature(temperature);
        if (topP != null) b.setTopP(topP);
        if (topK != null) b.setTopK(topK);
        if (minP != null) b.setMinP(minP);
        if (presencePenalty != null) b.setPresencePenalty(presencePenalty);
        if (frequencyPenalty != null) b.setFrequencyPenalty(frequencyPenalty);
        if (repetitionPenalty != null) b.setRepetitionPenalty(repetitionPenalty);
        if (seed != null) b.setSeed(seed);
        return b.build();
    }

    SamplingParams resolve(GenerationDefaults defaults) {
        return SamplingOptionsResolver.resolve(this, defaults);
    }
}
