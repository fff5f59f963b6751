package dev.shardline.cli;

import dev.shardline.model.sampling.GenerationDefaults;
import dev.shardline.model.sampling.SamplingOverrides;
import dev.shardline.model.sampling.SamplingParams;

/** Turns command-line sampling flags into validated {@link SamplingParams} over the checkpoint's defaults. */
final class SamplingOptionsResolver {
    static SamplingParams resolve(SamplingOptions o, GenerationDefaults defaults) {
        return defaults.merge(new SamplingOverrides(o.temperature, o.topK, o.topP, o.minP, o.presencePenalty,
                o.frequencyPenalty, o.repetitionPenalty, o.seed, o.maxTokens, o.stop, null, o.ignoreEos ? Boolean.TRUE : null));
    }

    static SamplingParams withMaxTokens(GenerationDefaults defaults, int maxTokens, Long seed) {
        return defaults.merge(new SamplingOverrides(null, null, null, null, null, null, null, seed, maxTokens, null, null, null));
    }

    private SamplingOptionsResolver() {
    }
}
