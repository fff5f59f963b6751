package dev.shardline.cli.bench;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * C concurrent greedy generations through the OpenAI HTTP API: {@code POST /v1/completions} with the prompt as
 * token ids, {@code stream: true} and vLLM's {@code return_token_ids}, read as server-sent events; the same load
 * {@link ClusterLoad} sends over gRPC, measured the same way (time to first token from the run's start, a token's
 * arrival when its event arrives).
 */
public final class HttpLoad {

    public static LoadRun run(HttpClient http, String baseUrl, int[][] prompts, int genTokens, String setup) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(prompts.length);
        long start = System.nanoTime();
        List<Future<List<Long>>> futures = new ArrayList<>();
        try {
            for (int[] p : prompts) futures.add(pool.submit(() -> stream(http, baseUrl, p, genTokens)));
            List<Double> ttft = new ArrayList<>();
            List<Double> itl = new ArrayList<>();
            int total = 0;
            for (Future<List<Long>> f : futures) {
                List<Long> t = f.get();
                if (t.size() != genTokens) {
                    throw new IllegalStateException("an HTTP benchmark request returned " + t.size() + " of " + genTokens + " tokens");
                }
                total += t.size();
                ttft.add((t.getFirst() - start) / 1e6);
                for (int j = 1; j < t.size(); j++) itl.add((t.get(j) - t.get(j - 1)) / 1e6);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new LoadRun(setup, prompts.length, total, seconds, LoadRun.toArray(ttft), LoadRun.toArray(itl),
                    new double[0], 0);
        } finally {
            pool.shutdownNow();
        }
    }

    /** One streamed completion; the arrival time of each token. */
    static List<Long> stream(HttpClient http, String baseUrl, int[] prompt, int genTokens) throws Exception {
        StringBuilder ids = new StringBuilder();
        for (int i = 0; i < prompt.length; i++) ids.append(i == 0 ? "" : ",").append(prompt[i]);
        String body = "{\"prompt\":[" + ids + "],\"max_tokens\":" + genTokens + ",\"temperature\":0,\"ignore_eos\":true,"
                + "\"stream\":true,\"return_token_ids\":true}";
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        List<Long> times = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            if (r.statusCode() != 200) throw new IllegalStateException("HTTP " + r.statusCode() + ": " + in.readLine());
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data: ")) continue;
                long now = System.nanoTime();
                if (line.equals("data: [DONE]")) break;
                for (int i = 0; i < tokenCount(line); i++) times.add(now);
            }
        }
        return times;
    }

    /** The number of ids in the event's "token_ids" array (a scan, not a JSON parse: the client shares the CPUs). */
    static int tokenCount(String event) {
        int at = event.indexOf("\"token_ids\":[");
        if (at < 0) return 0;
        int from = at + "\"token_ids\":[".length();
        int end = event.indexOf(']', from);
        if (end == from) return 0;
        int n = 1;
        for (int i = from; i < end; i++) if (event.charAt(i) == ',') n++;
        return n;
    }

    private HttpLoad() {
    }
}
