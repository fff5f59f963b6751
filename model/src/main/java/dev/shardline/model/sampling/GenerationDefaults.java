package dev.shardline.model.sampling;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.json.JsonFields;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's default sampling values from {@code generation_config.json}, merged with a request's overrides the
 * way vLLM does (a value the request sets wins; otherwise the file's value; otherwise the built-in default).
 *
 * <p>Read keys: temperature, top_p, top_k, min_p, repetition_penalty, max_new_tokens, eos_token_id (an int or a
 * list). {@code do_sample} is ignored, as vLLM ignores it: a file value of temperature 0.6 samples even if
 * do_sample is false. When the file is absent: temperature 1.0, top_p 1.0, top_k off, min_p 0, repetition_penalty
 * 1.0, no max_new_tokens and no EOS ids (use config.json's eos_token_id). Note that transformers' own default
 * top_k is 50; we follow vLLM, which leaves top_k off unless the file sets it.
 *
 * @param topK         -1 when off (0 in the file also means off)
 * @param maxNewTokens null when not set
 * @param eosTokenIds  empty when not set
 * @param source       where the values came from (a path, or "built-in defaults")
 */
public record GenerationDefaults(
        double temperature,
        double topP,
        int topK,
        double minP,
        double repetitionPenalty,
        Integer maxNewTokens,
        List<Integer> eosTokenIds,
        String source) {

    public GenerationDefaults {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** The values used when a model has no generation_config.json. */
    public static GenerationDefaults builtIn() {
        return new GenerationDefaults(1.0, 1.0, -1, 0.0, 1.0, null, List.of(), "built-in defaults");
    }

    /**
     * Reads a generation_config.json; an absent file gives {@link #builtIn()}.
     *
     * @throws JsonException naming the file and field when the file is malformed or a field has the wrong type
     */
    public static GenerationDefaults read(Path generationConfigJson) {
        if (!Files.exists(generationConfigJson)) {
            return builtIn();
        }
        String text;
        try {
            text = Files.readString(generationConfigJson, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + generationConfigJson, e);
        }
        String source = generationConfigJson.toString();
        JsonFields f;
        try {
            f = new JsonFields(source, Json.parseObject(text));
        } catch (JsonException e) {
            throw new JsonException(source + ": " + e.getMessage());
        }
        GenerationDefaults b = builtIn();
        int topK = f.optInt("top_k", b.topK());
        Integer maxNew = f.has("max_new_tokens") ? f.requireInt("max_new_tokens") : null;
        return new GenerationDefaults(
                f.optDouble("temperature", b.temperature()),
                f.optDouble("top_p", b.topP()),
                topK <= 0 ? -1 : topK,
                f.optDouble("min_p", b.minP()),
                f.optDouble("repetition_penalty", b.repetitionPenalty()),
                maxNew,
                eosIds(f),
                source);
    }

    private static List<Integer> eosIds(JsonFields f) {
        if (!f.has("eos_token_id")) {
            return List.of();
        }
        Object raw = f.raw("eos_token_id");
        if (raw instanceof List<?> list) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof Long l) || l < 0 || l > Integer.MAX_VALUE) {
                    throw new JsonException(f.source() + ": field \"eos_token_id\" entry " + i
                            + " must be a non-negative integer, found " + Json.write(list.get(i)));
                }
                ids.add((int) (long) l);
            }
            return ids;
        }
        return List.of(f.requireInt("eos_token_id"));
    }

    /**
     * Request values over these defaults; the result is validated. Top log-probs and logit bias have no model
     * default (none, unless the request asks).
     */
    public SamplingParams merge(SamplingOverrides o) {
        SamplingParams d = SamplingParams.defaults();
        return new SamplingParams(
                o.temperature() != null ? o.temperature() : temperature,
                o.topK() != null ? o.topK() : topK,
                o.topP() != null ? o.topP() : topP,
                o.minP() != null ? o.minP() : minP,
                o.presencePenalty() != null ? o.presencePenalty() : d.presencePenalty(),
                o.frequencyPenalty() != null ? o.frequencyPenalty() : d.frequencyPenalty(),
                o.repetitionPenalty() != null ? o.repetitionPenalty() : repetitionPenalty,
                o.seed(),
                o.maxTokens() != null ? o.maxTokens() : (maxNewTokens != null ? maxNewTokens : d.maxTokens()),
                o.stop() != null ? o.stop() : d.stop(),
                o.stopTokenIds() != null ? o.stopTokenIds() : d.stopTokenIds(),
                o.ignoreEos() != null ? o.ignoreEos() : d.ignoreEos(),
                o.topLogprobs() != null ? o.topLogprobs() : d.topLogprobs(),
                o.logitBias() != null ? o.logitBias() : d.logitBias()).validate();
    }
}
