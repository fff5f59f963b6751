package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationDelta;
import dev.shardline.coordinator.generation.TokenLogprob;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.json.Json;
import dev.shardline.model.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/** The JSON pieces OpenAI's responses share: usage, log-prob entries, finish reasons, SSE framing. */
final class Shapes {
    /** What OpenAI-compatible servers send for a -inf log-prob, which JSON cannot hold. */
    static final double MIN_LOGPROB = -9999.0;

    /** A JSON object with its keys in the order given: obj("a", 1, "b", 2). */
    static Map<String, Object> obj(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return m;
    }

    static String sse(Object json) {
        return "data: " + Json.write(json) + "\n\n";
    }

    static final String DONE = "data: [DONE]\n\n";

    static Map<String, Object> usage(Completion c, boolean reasoningDetails) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("prompt_tokens", c.usage().promptTokens());
        u.put("completion_tokens", c.usage().completionTokens());
        u.put("total_tokens", c.usage().totalTokens());
        if (reasoningDetails) u.put("completion_tokens_details", Map.of("reasoning_tokens", c.usage().reasoningTokens()));
        return u;
    }

    static String finishReason(FinishReason r, boolean toolCalls) {
        return switch (r) {
            case STOP -> toolCalls ? "tool_calls" : "stop";
            case LENGTH -> "length";
            case CANCELLED -> "abort";
        };
    }

    static double logprob(float lp) {
        return Float.isFinite(lp) ? lp : MIN_LOGPROB;
    }

    static List<Integer> bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        List<Integer> out = new ArrayList<>(b.length);
        for (byte x : b) out.add(x & 0xff);
        return out;
    }

    /** Chat log-prob entries ({@code choices[].logprobs.content}) of a delta's tokens. */
    static List<Object> chatLogprobs(GenerationDelta d, IntFunction<String> text) {
        List<Object> out = new ArrayList<>(d.logprobs().size());
        for (int i = 0; i < d.logprobs().size() && i < d.tokenIds().size(); i++) {
            String t = text.apply(d.tokenIds().get(i));
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("token", t);
            e.put("logprob", logprob(d.logprobs().get(i)));
            e.put("bytes", bytes(t));
            List<Object> top = new ArrayList<>();
            if (i < d.topLogprobs().size()) {
                for (TokenLogprob a : d.topLogprobs().get(i)) {
                    Map<String, Object> alt = new LinkedHashMap<>();
                    alt.put("token", a.text());
                    alt.put("logprob", logprob(a.logprob()));
                    alt.put("bytes", bytes(a.text()));
                    top.add(alt);
                }
            }
            e.put("top_logprobs", top);
            out.add(e);
        }
        return out;
    }

    /** Text-completion log-probs ({@code choices[].logprobs}) of a delta's tokens; offsets start at {@code offset}. */
    static Map<String, Object> completionLogprobs(List<GenerationDelta> deltas, IntFunction<String> text, int offset) {
        List<Object> tokens = new ArrayList<>();
        List<Object> lps = new ArrayList<>();
        List<Object> tops = new ArrayList<>();
        List<Object> offsets = new ArrayList<>();
        int at = offset;
        for (GenerationDelta d : deltas) {
            for (int i = 0; i < d.logprobs().size() && i < d.tokenIds().size(); i++) {
                String t = text.apply(d.tokenIds().get(i));
                tokens.add(t);
                lps.add(logprob(d.logprobs().get(i)));
                Map<String, Object> top = new LinkedHashMap<>();
                if (i < d.topLogprobs().size()) {
                    for (TokenLogprob a : d.topLogprobs().get(i)) top.putIfAbsent(a.text(), logprob(a.logprob()));
                }
                tops.add(top);
                offsets.add(at);
                at += t.length();
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tokens", tokens);
        m.put("token_logprobs", lps);
        m.put("top_logprobs", tops);
        m.put("text_offset", offsets);
        return m;
    }

    /** A token's text as log-prob entries show it. */
    static IntFunction<String> tokenText(Tokenizer tokenizer) {
        return id -> tokenizer.decode(new int[]{id});
    }

    private Shapes() {
    }
}
