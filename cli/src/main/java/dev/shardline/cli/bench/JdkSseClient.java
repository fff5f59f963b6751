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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * HTTP/1.1 over the JDK's {@link HttpClient}, read line by line by a thread per stream (what a plain Java program
 * would write); received bytes go from the client's selector thread straight to the reading thread.
 */
final class JdkSseClient implements SseClient {
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(Runnable::run).build();
    private final ExecutorService readers = Executors.newCachedThreadPool();
    private final URI uri;

    JdkSseClient(String baseUrl) {
        this.uri = URI.create(baseUrl + "/v1/completions");
    }

    @Override
    public CompletableFuture<List<Long>> stream(int[] prompt, int genTokens) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return read(prompt, genTokens);
            } catch (Exception e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }, readers);
    }

    private List<Long> read(int[] prompt, int genTokens) throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(SseClient.body(prompt, genTokens))).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        List<Long> times = new ArrayList<>(genTokens);
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            if (r.statusCode() != 200) throw new IllegalStateException("HTTP " + r.statusCode() + ": " + in.readLine());
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data: ")) continue;
                long now = System.nanoTime();
                if (line.equals("data: [DONE]")) break;
                for (int i = SseClient.tokenCount(line); i > 0; i--) times.add(now);
            }
        }
        return times;
    }

    @Override
    public void close() {
        readers.shutdownNow();
        http.close();
    }
}
