package dev.shardline.cli.bench;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The benchmark's HTTP client: one streamed greedy completion ({@code POST /v1/completions}, prompt as token ids,
 * {@code stream: true}, {@code return_token_ids}) and the arrival time ({@link System#nanoTime}) of each token, taken
 * when its server-sent event arrives.
 */
interface SseClient extends AutoCloseable {

    CompletableFuture<List<Long>> stream(int[] prompt, int genTokens);

    @Override
    void close();

    /** The request body every client sends. */
    static String body(int[] prompt, int genTokens) {
        StringBuilder ids = new StringBuilder();
        for (int i = 0; i < prompt.length; i++) ids.append(i == 0 ? "" : ",").append(prompt[i]);
        return "{\"prompt\":[" + ids + "],\"max_tokens\":" + genTokens + ",\"temperature\":0,\"ignore_eos\":true,"
                + "\"stream\":true,\"return_token_ids\":true}";
    }

    /** The number of ids in the event's "token_ids" array (a scan, not a JSON parse: the client shares the CPUs). */
    static int tokenCount(CharSequence event) {
        String e = event.toString();
        int at = e.indexOf("\"token_ids\":[");
        if (at < 0) return 0;
        int from = at + "\"token_ids\":[".length();
        int end = e.indexOf(']', from);
        if (end == from) return 0;
        int n = 1;
        for (int i = from; i < end; i++) if (e.charAt(i) == ',') n++;
        return n;
    }
}
