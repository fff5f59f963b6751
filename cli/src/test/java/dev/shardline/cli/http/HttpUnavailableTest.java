package dev.shardline.cli.http;

import dev.shardline.cli.cluster.TestModels;
import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.coordinator.server.CoordinatorProcess;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.json.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A coordinator with no worker (zero pipelines, as while an operator scales up from zero): alive but not ready;
 * a request waits (as demand) and then gets 503 with Retry-After, never a hang; with the waiting queue at its bound
 * the next request gets 429 with Retry-After; the test hook is refused when test hooks are off.
 */
class HttpUnavailableTest {
    static CoordinatorProcess coordinator;
    static Http http;

    @BeforeAll
    static void start() {
        coordinator = CoordinatorProcess.start(CoordinatorConfig.parse(Map.of(), Map.of("model",
                TestModels.get(DemoPreset.TINY).toString(), "port", "0", "http-port", "0", "queue-timeout-ms", "1500",
                "max-waiting", "1")), line -> { });
        http = new Http(coordinator.httpUrl(), null);
    }

    @AfterAll
    static void stop() {
        http.close();
        coordinator.close();
    }

    static Map<String, Object> chat(boolean stream) {
        return Map.of("messages", List.of(Map.of("role", "user", "content", "Hi")), "max_tokens", 4, "stream", stream);
    }

    @Test
    void aliveNotReadyThen429And503WithRetryAfter() throws Exception {
        assertEquals(200, http.get("/health").statusCode());
        HttpResponse<String> ready = http.get("/ready");
        assertEquals(503, ready.statusCode());
        assertEquals(false, Json.parseObject(ready.body()).get("ready"));

        CompletableFuture<HttpResponse<String>> waiting = CompletableFuture.supplyAsync(() ->
                http.post("/v1/chat/completions", chat(true)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (coordinator.cluster().waitingCount() < 1) {
            assertTrue(System.nanoTime() < deadline, "the first request waits for a pipeline");
            Thread.sleep(10);
        }
        HttpResponse<String> overloaded = http.post("/v1/chat/completions", chat(false));
        HttpApiTest.assertError(overloaded, 429, null, "rate_limit_exceeded");
        assertTrue(Long.parseLong(overloaded.headers().firstValue("Retry-After").orElseThrow()) >= 1);

        HttpResponse<String> unavailable = waiting.get(30, TimeUnit.SECONDS);
        HttpApiTest.assertError(unavailable, 503, null, "service_unavailable");
        assertTrue(Long.parseLong(unavailable.headers().firstValue("Retry-After").orElseThrow()) >= 1);
        assertTrue(unavailable.body().contains("pipeline"), unavailable.body());
    }

    @Test
    void theTestHookIsRefusedWhenTestHooksAreOff() {
        HttpApiTest.assertError(http.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 2,
                "shardline_test_forced_token_ids", List.of(1, 2))), 400, "shardline_test_forced_token_ids", "invalid_value");
    }
}
