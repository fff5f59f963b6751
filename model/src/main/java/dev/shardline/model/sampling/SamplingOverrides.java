package dev.shardline.model.sampling;

import java.util.List;
import java.util.Set;

/**
 * Sampling values a request sets explicitly; null = take the model default ({@link GenerationDefaults}).
 * Field names and meanings as in {@link SamplingParams}.
 */
public record SamplingOverrides(
        Double temperature,
        Integer topK,
        Double topP,
        Double minP,
        Double presencePenalty,
        Double frequencyPenalty,
        Double repetitionPenalty,
        Long seed,
        Integer maxTokens,
        List<String> stop,
        Set<Integer> stopTokenIds,
        Boolean ignoreEos) {

    /** Nothing overridden. */
    public static SamplingOverrides none() {
        return new SamplingOverrides(null, null, null, null, null, null, null, null, null, null, null, null);
    }
}
