package dev.shardline.model.sampling;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * How one sequence picks its next tokens and when it stops. Field meanings follow vLLM / the OpenAI API.
 *
 * @param temperature       0 (below 1e-5, like vLLM) = greedy argmax; otherwise logits are divided by it
 * @param topK              keep the k most likely tokens; 0 or -1 = off
 * @param topP              nucleus: keep the smallest set of most likely tokens whose mass reaches top_p; 1 = off
 * @param minP              drop tokens whose probability is below min_p times the top token's; 0 = off
 * @param presencePenalty   subtracted once from every token already generated (prompt excluded)
 * @param frequencyPenalty  subtracted per occurrence of a token in the generated text (prompt excluded)
 * @param repetitionPenalty tokens seen in prompt or output: positive logits divided by it, negative multiplied; 1 = off
 * @param seed              seed of the draws; the draw for the token at position p is
 *                          {@link SeededDraw#uniform SeededDraw.uniform(seed, p)}; null = a random seed, picked once
 *                          by each {@link Sampler}
 * @param maxTokens         most tokens to generate; {@link Integer#MAX_VALUE} = no limit of its own (the engine
 *                          still stops at the context length)
 * @param stop              strings that end generation (not included in the output)
 * @param stopTokenIds      extra token ids that end generation (the EOS ids come from the model, see
 *                          {@link #stopsOn})
 * @param ignoreEos         keep generating past EOS tokens (benchmarks)
 * @param topLogprobs       how many of the most likely tokens to report with each sampled token, 0 to
 *                          {@link #MAX_TOP_LOGPROBS} (OpenAI top_logprobs)
 * @param logitBias         token id -> value added to its logit before the penalties and the temperature (OpenAI
 *                          logit_bias), each in [-100, 100]; -100 all but bans a token. Ids at or beyond the
 *                          sampled vocabulary are ignored (the caller checks ids against its tokenizer)
 */
public record SamplingParams(
        double temperature,
        int topK,
        double topP,
        double minP,
        double presencePenalty,
        double frequencyPenalty,
        double repetitionPenalty,
        Long seed,
        int maxTokens,
        List<String> stop,
        Set<Integer> stopTokenIds,
        boolean ignoreEos,
        int topLogprobs,
        Map<Integer, Float> logitBias) {

    /** Temperatures below this are treated as greedy (vLLM's _SAMPLING_EPS). */
    public static final double GREEDY_EPSILON = 1e-5;
    /** The most alternatives a token may come with (OpenAI's limit). */
    public static final int MAX_TOP_LOGPROBS = 20;
    /** The largest logit bias in either direction (OpenAI's limit). */
    public static final float MAX_LOGIT_BIAS = 100f;

    public SamplingParams {
        stop = stop == null ? List.of() : List.copyOf(stop);
        stopTokenIds = stopTokenIds == null ? Set.of() : Collections.unmodifiableSet(new LinkedHashSet<>(stopTokenIds));
        logitBias = logitBias == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(logitBias));
    }

    /** Without top log-probs and logit bias (the fields sampling had before them). */
    public SamplingParams(double temperature, int topK, double topP, double minP, double presencePenalty,
                          double frequencyPenalty, double repetitionPenalty, Long seed, int maxTokens, List<String> stop,
                          Set<Integer> stopTokenIds, boolean ignoreEos) {
        this(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed, maxTokens, stop,
                stopTokenIds, ignoreEos, 0, Map.of());
    }

    /** Plain sampling: temperature 1, no filtering, no penalties, no token limit. */
    public static SamplingParams defaults() {
        return new SamplingParams(1.0, -1, 1.0, 0.0, 0.0, 0.0, 1.0, null, Integer.MAX_VALUE, List.of(), Set.of(), false,
                0, Map.of());
    }

    /** Greedy decoding (temperature 0). */
    public static SamplingParams greedy() {
        return defaults().withTemperature(0.0);
    }

    /** QwQ-32B model card recommendation: T 0.6, top_p 0.95, top_k 40, min_p 0. */
    public static SamplingParams qwqRecommended() {
        return defaults().withTemperature(0.6).withTopP(0.95).withTopK(40);
    }

    public boolean isGreedy() {
        return temperature < GREEDY_EPSILON;
    }

    public boolean topKEnabled() {
        return topK > 0;
    }

    /** Whether generating tokenId ends the sequence: a stop token id, or an EOS id unless ignoreEos. */
    public boolean stopsOn(int tokenId, Collection<Integer> eosTokenIds) {
        return stopTokenIds.contains(tokenId) || (!ignoreEos && eosTokenIds.contains(tokenId));
    }

    /**
     * Checks every range; returns this.
     *
     * @throws InvalidSamplingException naming the field and the allowed range
     */
    public SamplingParams validate() {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw invalid("temperature", "must be >= 0 and finite", temperature);
        }
        if (topK < -1) {
            throw invalid("top_k", "must be -1 or 0 (off) or >= 1", topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw invalid("top_p", "must be in (0, 1]", topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw invalid("min_p", "must be in [0, 1]", minP);
        }
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) {
            throw invalid("presence_penalty", "must be in [-2, 2]", presencePenalty);
        }
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) {
            throw invalid("frequency_penalty", "must be in [-2, 2]", frequencyPenalty);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw invalid("repetition_penalty", "must be > 0 and finite", repetitionPenalty);
        }
        if (maxTokens < 1) {
            throw invalid("max_tokens", "must be >= 1", maxTokens);
        }
        for (int i = 0; i < stop.size(); i++) {
            if (stop.get(i) == null || stop.get(i).isEmpty()) {
                throw new InvalidSamplingException("stop", "stop entry " + i + " must be a non-empty string");
            }
        }
        for (int id : stopTokenIds) {
            if (id < 0) {
                throw invalid("stop_token_ids", "entries must be >= 0", id);
            }
        }
        if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw invalid("top_logprobs", "must be in [0, " + MAX_TOP_LOGPROBS + "]", topLogprobs);
        }
        for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
            if (e.getKey() == null || e.getKey() < 0) {
                throw new InvalidSamplingException("logit_bias", "logit_bias token ids must be >= 0, got " + e.getKey());
            }
            Float v = e.getValue();
            if (v == null || !(v >= -MAX_LOGIT_BIAS && v <= MAX_LOGIT_BIAS)) {
                throw new InvalidSamplingException("logit_bias", "logit_bias[" + e.getKey() + "] must be in [-100, 100], got "
                        + v);
            }
        }
        return this;
    }

    private static InvalidSamplingException invalid(String field, String rule, Object value) {
        return new InvalidSamplingException(field, field + " " + rule + ", got " + value);
    }

    public SamplingParams withTemperature(double v) {
        return new SamplingParams(v, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed,
                maxTokens, stop, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withTopK(int v) {
        return new SamplingParams(temperature, v, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, stop, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withTopP(double v) {
        return new SamplingParams(temperature, topK, v, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, stop, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withMinP(double v) {
        return new SamplingParams(temperature, topK, topP, v, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, stop, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    /** Sets presence, frequency and repetition penalties together. */
    public SamplingParams withPenalties(double presence, double frequency, double repetition) {
        return new SamplingParams(temperature, topK, topP, minP, presence, frequency, repetition, seed, maxTokens,
                stop, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withSeed(Long v) {
        return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                v, maxTokens, stop, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withMaxTokens(int v) {
        return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, v, stop, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withStop(List<String> v) {
        return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, v, stopTokenIds, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withStopTokenIds(Set<Integer> v) {
        return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, stop, v, ignoreEos, topLogprobs, logitBias);
    }

    public SamplingParams withIgnoreEos(boolean v) {
        return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, stop, stopTokenIds, v, topLogprobs, logitBias);
    }

    public SamplingParams withTopLogprobs(int v) {
        return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, stop, stopTokenIds, ignoreEos, v, logitBias);
    }

    public SamplingParams withLogitBias(Map<Integer, Float> v) {
        return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty, repetitionPenalty,
                seed, maxTokens, stop, stopTokenIds, ignoreEos, topLogprobs, v);
    }
}
