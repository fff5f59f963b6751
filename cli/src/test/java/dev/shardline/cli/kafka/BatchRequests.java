package dev.shardline.cli.kafka;

import dev.shardline.model.json.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Batch input lines for the tests: greedy, EOS ignored, a few tokens each; completions and chats mixed. */
final class BatchRequests {

    static String completion(String id, int[] prompt, int maxTokens) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("prompt", toList(prompt));
        body.put("max_tokens", maxTokens);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        return line(id, "/v1/completions", body);
    }

    static String chat(String id, String text, int maxTokens) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("messages", List.of(Map.of("role", "user", "content", text)));
        body.put("max_tokens", maxTokens);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        return line(id, "/v1/chat/completions", body);
    }

    static String line(String id, String url, Object body) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("custom_id", id);
        m.put("method", "POST");
        m.put("url", url);
        m.put("body", body);
        return Json.write(m);
    }

    /** n lines, ids {@code prefix-i}: every fourth a chat. */
    static List<String[]> many(String prefix, int n, int maxTokens) {
        List<String[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = prefix + "-" + i;
            out.add(new String[]{id, i % 4 == 3 ? chat(id, "question number " + i, maxTokens)
                    : completion(id, new int[]{10 + i % 50, 20 + i % 7, 30 + i % 11, 40 + i}, maxTokens)});
        }
        return out;
    }

    /** What a greedy answer must repeat in any run: the choices and usage (not ids or times). */
    @SuppressWarnings("unchecked")
    static String essence(Map<String, Object> resultLine) {
        Map<String, Object> response = (Map<String, Object>) resultLine.get("response");
        if (response == null) return "error " + Json.write(resultLine.get("error"));
        Map<String, Object> body = (Map<String, Object>) response.get("body");
        return response.get("status_code") + " " + Json.write(body.get("choices")) + " " + Json.write(body.get("usage"));
    }

    private static List<Integer> toList(int[] a) {
        List<Integer> l = new ArrayList<>();
        for (int x : a) l.add(x);
        return l;
    }

    private BatchRequests() {
    }
}
