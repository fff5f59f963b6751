package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.model.sampling.SamplingOverrides;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The fields chat and text completions share: model, sampling (OpenAI's and vLLM's extensions), stop, max tokens,
 * logit bias, n, user, streaming, and the test hook. Each is read into the generation request; the service's
 * validator checks ranges (one place), and its field names are mapped back to the body's.
 */
final class CommonFields {
    /** The test hook's body field: forced token ids, refused unless the coordinator runs with test-hooks=true. */
    static final String FORCED = "shardline_test_forced_token_ids";
    static final Set<String> KEYS = Set.of("model", "temperature", "top_p", "top_k", "min_p", "presence_penalty",
            "frequency_penalty", "repetition_penalty", "seed", "stop", "max_tokens", "logit_bias", "n", "user", "stream",
            "stream_options", "ignore_eos", "stop_token_ids", "return_token_ids", FORCED);
    /** OpenAI parameters that are not served, and why. */
    static final Map<String, String> UNSUPPORTED = Map.ofEntries(
            Map.entry("best_of", "only 1 is supported"),
            Map.entry("suffix", "is not supported (no fill-in-the-middle)"),
            Map.entry("functions", "the legacy functions API is not supported; use tools"),
            Map.entry("function_call", "the legacy functions API is not supported; use tool_choice"),
            Map.entry("audio", "audio output is not supported"),
            Map.entry("modalities", "only text is supported; leave modalities out"),
            Map.entry("prediction", "predicted outputs are not supported"),
            Map.entry("web_search_options", "web search is not supported"),
            Map.entry("reasoning_effort", "QwQ always reasons; its effort cannot be set (limit max_tokens instead)"),
            Map.entry("service_tier", "service tiers are not supported"),
            Map.entry("store", "stored completions are not supported"),
            Map.entry("metadata", "stored completions (and their metadata) are not supported"),
            Map.entry("prompt_cache_key", "is not supported"),
            Map.entry("safety_identifier", "is not supported"),
            Map.entry("verbosity", "is not supported"));

    /**
     * What a request asked for beyond the generation request: streaming, usage in the stream, and (vLLM's
     * {@code return_token_ids}) the generated token ids in each choice.
     */
    record Streaming(boolean stream, boolean includeUsage, boolean returnTokenIds) {
    }

    /** Reads the shared fields into {@code b}; returns the streaming options. */
    static Streaming read(Body body, GenerationRequest.Builder b, Integer maxTokens) {
        b.model(body.optString("model", ""));
        Long n = body.optInteger("n");
        if (n != null && n != 1) throw ApiError.unsupported("n", "only n = 1 is supported, got " + n).exception();
        b.endUser(body.optString("user", ""));
        List<String> stop = null;
        if (body.has("stop")) {
            Object s = body.raw("stop");
            stop = new ArrayList<>();
            if (s instanceof String one) {
                stop.add(one);
            } else {
                List<Object> l = body.list("stop");
                for (int i = 0; i < l.size(); i++) {
                    if (!(l.get(i) instanceof String str)) {
                        throw ApiError.invalid("stop[" + i + "]", "must be a string").exception();
                    }
                    stop.add(str);
                }
            }
        }
        Set<Integer> stopIds = body.has("stop_token_ids") ? new HashSet<>(body.ids("stop_token_ids")) : null;
        Long seed = body.optInteger("seed");
        b.sampling(new SamplingOverrides(body.optNumber("temperature"), body.optInt("top_k"), body.optNumber("top_p"),
                body.optNumber("min_p"), body.optNumber("presence_penalty"), body.optNumber("frequency_penalty"),
                body.optNumber("repetition_penalty"), seed, maxTokens, stop, stopIds,
                body.has("ignore_eos") ? body.optBool("ignore_eos", false) : null));
        if (body.has("logit_bias")) {
            Map<Integer, Float> bias = new HashMap<>();
            for (Map.Entry<String, Object> e : body.object("logit_bias").map().entrySet()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey().trim());
                } catch (NumberFormatException x) {
                    throw ApiError.invalid("logit_bias", "keys must be token ids, got \"" + e.getKey() + "\"").exception();
                }
                if (!(e.getValue() instanceof Number v)) {
                    throw ApiError.invalid("logit_bias[" + e.getKey() + "]", "must be a number").exception();
                }
                bias.put(id, v.floatValue());
            }
            b.logitBias(bias);
        }
        if (body.has(FORCED)) b.forcedTokenIds(body.ids(FORCED));
        boolean stream = body.optBool("stream", false);
        boolean includeUsage = false;
        if (body.has("stream_options")) {
            if (!stream) {
                throw ApiError.invalid("stream_options", "is only allowed when stream is true").exception();
            }
            Body o = body.object("stream_options");
            o.allowOnly(Set.of("include_usage"), Map.of("continuous_usage_stats", "is not supported"));
            includeUsage = o.optBool("include_usage", false);
        }
        return new Streaming(stream, includeUsage, body.optBool("return_token_ids", false));
    }

    /** max_completion_tokens, else max_tokens (the name the client used is the one errors give). */
    static Integer maxTokens(Body body, boolean chat) {
        if (chat && body.has("max_completion_tokens")) return body.optInt("max_completion_tokens");
        return body.optInt("max_tokens");
    }

    /** The service's field names as this body names them. */
    static UnaryOperator<String> fieldNames(Body body, String promptField) {
        String maxName = body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        return f -> {
            if (f == null) return null;
            if (f.equals("forced_token_ids")) return FORCED;
            if (f.equals("max_tokens")) return maxName;
            if (f.equals("prompt") || f.startsWith("prompt[")) return promptField + f.substring("prompt".length());
            return f;
        };
    }

    private CommonFields() {
    }
}
