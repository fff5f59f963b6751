package dev.shardline.model.sampling;

import java.util.List;
import java.util.Map;
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
        Boolean ignoreEos,
        Integer topLogprobs,
        Map<Integer, Float> logitBias) {

    /** Without top log-probs and logit bias (the fields requests had before them). */
    public SamplingOverrides(Double temperature, Integer topK, Double topP, Double minP, Double presencePenalty,
                             Double frequencyPenalty, Double repetitionPenalty, Long seed, Integer maxTokens,
                             List<String> stop, Set<Integer> stopTokenIds, Boolean ignoreEos) {
        this(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed, maxTokens, stop,
                stopTokenIds, ignoreEos, null, null);
    }

    /** Nothing overridden. */
    public static SamplingOverrides none() {
        return new SamplingOverrides(null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }
}
