package dev.shardline.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * C concurrent greedy generations through the OpenAI HTTP API: {@code POST /v1/completions} with the prompt as
 * token ids, {@code stream: true} and vLLM's {@code return_token_ids}, read as server-sent events by an
 * {@link SseClient}; the same load {@link ClusterLoad} sends over gRPC, measured the same way (time to first token
 * from the run's start, a token's arrival when its event arrives).
 */
public final class HttpLoad {

    static LoadRun run(SseClient http, int[][] prompts, int genTokens, String setup) throws Exception {
        long start = System.nanoTime();
        List<CompletableFuture<List<Long>>> streams = new ArrayList<>();
        for (int[] p : prompts) streams.add(http.stream(p, genTokens));
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        int total = 0;
        for (CompletableFuture<List<Long>> f : streams) {
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
    }

    private HttpLoad() {
    }
}
