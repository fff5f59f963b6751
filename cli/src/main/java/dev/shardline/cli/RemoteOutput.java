package dev.shardline.cli;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.model.json.Json;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Printing what a remote generation returned: a one-line summary, or the same JSON as the local command. */
final class RemoteOutput {
    static void summary(ClusterClient.Result r) {
        int n = r.tokenIds().size();
        double total = (r.endNanos() - r.startNanos()) / 1e9;
        double ttft = r.firstTokenNanos() == 0 ? 0 : (r.firstTokenNanos() - r.startNanos()) / 1e6;
        double decode = n <= 1 ? 0 : (n - 1) / ((r.endNanos() - r.firstTokenNanos()) / 1e9);
        System.err.printf("[%d prompt tokens, %d generated, finish: %s | first token after %.0f ms, decode %.1f tok/s, %.2f s]%n",
                r.finished() == null ? 0 : r.finished().getUsage().getPromptTokens(), n, finish(r), ttft, decode, total);
        if (r.finished() != null && !r.finished().getError().isEmpty()) {
            System.err.println("error: " + r.finished().getError());
        }
    }

    static String finish(ClusterClient.Result r) {
        if (r.finished() == null) return "none";
        return r.finished().getFinishReason().name().replace("FINISH_REASON_", "").toLowerCase();
    }

    static Map<String, Object> json(ClusterClient.Result r, List<Integer> promptIds, boolean chat) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_token_ids", promptIds == null ? null : promptIds.stream().map(Integer::longValue).toList());
        m.put("generated_token_ids", r.tokenIds().stream().map(Integer::longValue).toList());
        m.put("text", r.text());
        if (chat) {
            m.put("reasoning", r.reasoning());
            m.put("answer", r.answer());
        }
        m.put("finish_reason", finish(r));
        int n = r.tokenIds().size();
        Map<String, Object> t = new LinkedHashMap<>();
        double prefillMs = r.firstTokenNanos() == 0 ? 0 : (r.firstTokenNanos() - r.startNanos()) / 1e6;
        double decodeMs = r.firstTokenNanos() == 0 ? 0 : (r.endNanos() - r.firstTokenNanos()) / 1e6;
        int promptTokens = r.finished() == null ? 0 : r.finished().getUsage().getPromptTokens();
        t.put("prefill_ms", prefillMs);
        t.put("decode_ms", decodeMs);
        t.put("prefill_tokens_per_second", prefillMs == 0 ? 0.0 : promptTokens / (prefillMs / 1e3));
        t.put("decode_tokens_per_second", n <= 1 || decodeMs == 0 ? 0.0 : (n - 1) / (decodeMs / 1e3));
        m.put("timings", t);
        if (r.finished() != null && !r.finished().getError().isEmpty()) m.put("error", r.finished().getError());
        return m;
    }

    static String jsonText(ClusterClient.Result r, List<Integer> promptIds, boolean chat) {
        return Json.writePretty(json(r, promptIds, chat));
    }

    private RemoteOutput() {
    }
}
