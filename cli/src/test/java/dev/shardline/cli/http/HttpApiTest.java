package dev.shardline.cli.http;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.LatencySummary;
import dev.shardline.proto.v1.ServingFigures;
import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.cli.cluster.TestModels;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.json.Json;
import dev.shardline.model.tokenizer.Tokenizer;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StageStatusRequest;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.worker.server.WorkerProcess;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

import static dev.shardline.cli.http.Http.at;
import static dev.shardline.cli.http.Http.list;
import static dev.shardline.cli.http.Http.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI HTTP API of a real 2-stage tiny cluster (workers in this JVM, f32 activations), over real HTTP on
 * loopback with the JDK's client: SSE framing byte for byte, the reasoning/answer split and usage in the stream,
 * tool calls (driven through the real sampler by the forced-token test hook), the OpenAI error shape for every
 * client mistake, a disconnect that frees the KV blocks on every stage, 100 concurrent streams, and greedy output
 * equal over HTTP, gRPC and one process.
 */
class HttpApiTest {
    static final String KEY = "sk-test-123";
    static LocalCluster cluster;
    static Http http;
    static Tokenizer tokenizer;
    static int eos;
    static long startedNanos;

    @BeforeAll
    static void start() throws InterruptedException {
        startedNanos = System.nanoTime();
        cluster = LocalCluster.start(TestModels.get(DemoPreset.TINY), 2, 0, 1, 4L << 30,
                Map.of("pipelines", "1", "max-kv-blocks", "400", "kv-reserve-tokens", "64", "test-hooks", "true",
                        "activation-dtype", "f32", "api-keys", "tester=" + KEY, "http-max-body-bytes", "262144"),
                false, line -> { });
        http = new Http(cluster.httpUrl(), KEY);
        tokenizer = cluster.coordinator().model().tokenizer();
        eos = cluster.coordinator().model().eosTokenIds().getFirst();
    }

    @AfterAll
    static void stop() {
        http.close();
        cluster.close();
    }

    static List<Integer> ids(int[] a) {
        List<Integer> out = new ArrayList<>();
        for (int x : a) out.add(x);
        return out;
    }

    /** Thinking (closed by </think>), then the answer, then EOS, as forced token ids; [0] holds the thinking's count. */
    static List<Integer> forced(String thinking, String answer, int[] reasoningCount) {
        List<Integer> f = ids(tokenizer.encode(thinking + "</think>"));
        reasoningCount[0] = f.size();
        f.addAll(ids(tokenizer.encode("\n\n" + answer)));
        f.add(eos);
        return f;
    }

    static Map<String, Object> chat(String user, Object... more) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("model", cluster.coordinator().model().id());
        b.put("messages", List.of(Map.of("role", "user", "content", user)));
        for (int i = 0; i < more.length; i += 2) b.put((String) more[i], more[i + 1]);
        return b;
    }

    @Test
    void sseFramingIsByteForByteWithReasoningSplitAndUsageLast() {
        int[] reasoning = new int[1];
        List<Integer> f = forced("Let me think about it.", "The answer is four.", reasoning);
        HttpResponse<String> r = http.post("/v1/chat/completions", chat("2+2?", "stream", true, "max_tokens", 64,
                "stream_options", Map.of("include_usage", true), "shardline_test_forced_token_ids", f));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("text/event-stream", r.headers().firstValue("Content-Type").orElse(""));
        assertTrue(Pattern.compile("(data: \\{[^\\n]*\\}\\n\\n)+data: \\[DONE\\]\\n\\n").matcher(r.body()).matches(),
                "every event is 'data: {json}\\n\\n', the last 'data: [DONE]\\n\\n':\n" + r.body());
        List<Map<String, Object>> events = new ArrayList<>();
        for (String e : r.body().split("\n\n")) {
            if (!e.equals("data: [DONE]")) events.add(Json.parseObject(e.substring("data: ".length())));
        }
        assertEquals(Map.of("role", "assistant", "content", ""), at(events.getFirst(), "choices", 0, "delta"));
        StringBuilder thought = new StringBuilder();
        StringBuilder answer = new StringBuilder();
        String finish = null;
        for (Map<String, Object> e : events.subList(0, events.size() - 1)) {
            assertEquals("chat.completion.chunk", e.get("object"));
            assertTrue(e.containsKey("usage") && e.get("usage") == null, "usage: null on every chunk but the last");
            Map<String, Object> d = map(at(e, "choices", 0, "delta"));
            if (d.containsKey("reasoning_content")) {
                assertEquals(d.get("reasoning_content"), d.get("reasoning"), "both names carry the same text");
                thought.append(d.get("reasoning_content"));
            }
            if (d.containsKey("content")) answer.append(d.get("content"));
            if (at(e, "choices", 0, "finish_reason") != null) finish = (String) at(e, "choices", 0, "finish_reason");
        }
        assertEquals("Let me think about it.", thought.toString());
        assertEquals("The answer is four.", answer.toString());
        assertEquals("stop", finish);
        Map<String, Object> last = events.getLast();
        assertEquals(List.of(), last.get("choices"));
        assertEquals((long) f.size(), at(last, "usage", "completion_tokens"));
        assertEquals((long) reasoning[0], at(last, "usage", "completion_tokens_details", "reasoning_tokens"));
        assertEquals((long) at(last, "usage", "prompt_tokens") + f.size(), at(last, "usage", "total_tokens"));

        Map<String, Object> whole = Json.parseObject(http.post("/v1/chat/completions", chat("2+2?", "max_tokens", 64,
                "shardline_test_forced_token_ids", f)).body());
        assertEquals("chat.completion", whole.get("object"));
        assertEquals("Let me think about it.", at(whole, "choices", 0, "message", "reasoning_content"));
        assertEquals("Let me think about it.", at(whole, "choices", 0, "message", "reasoning"));
        assertEquals("The answer is four.", at(whole, "choices", 0, "message", "content"));
        assertEquals("stop", at(whole, "choices", 0, "finish_reason"));
        assertEquals((long) reasoning[0], at(whole, "usage", "completion_tokens_details", "reasoning_tokens"));
    }

    static final Map<String, Object> WEATHER_TOOL = Map.of("type", "function", "function", Map.of("name", "get_weather",
            "description", "Weather of a city", "parameters", Map.of("type", "object", "properties",
                    Map.of("city", Map.of("type", "string")), "required", List.of("city"))));

    /** The tool call as ordinary text tokens, so that its tags span several tokens (and can split across deltas). */
    static List<Integer> toolCallTokens(String thinking, String body) {
        List<Integer> f = ids(tokenizer.encode(thinking + "</think>\n\n"));
        List<Integer> call = ids(tokenizer.encodeOrdinary("<tool_call>\n" + body + "\n</tool_call>"));
        assertTrue(ids(tokenizer.encodeOrdinary("<tool_call>")).size() > 1, "the opening tag takes several tokens");
        f.addAll(call);
        f.add(eos);
        return f;
    }

    @Test
    void toolCallsAreParsedFromTheAnswerOnlyStreamedNameFirstAndWhole() {
        List<Integer> f = toolCallTokens("I should look it up.",
                "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}");
        Map<String, Object> body = chat("Weather in Paris?", "tools", List.of(WEATHER_TOOL), "max_tokens", 80,
                "shardline_test_forced_token_ids", f);
        Map<String, Object> whole = Json.parseObject(http.post("/v1/chat/completions", body).body());
        Map<String, Object> message = map(at(whole, "choices", 0, "message"));
        assertEquals("tool_calls", at(whole, "choices", 0, "finish_reason"));
        assertNull(message.get("content"));
        assertEquals("I should look it up.", message.get("reasoning_content"));
        assertEquals("get_weather", at(message, "tool_calls", 0, "function", "name"));
        assertEquals("function", at(message, "tool_calls", 0, "type"));
        assertEquals(Map.of("city", "Paris"), Json.parse((String) at(message, "tool_calls", 0, "function", "arguments")));
        assertTrue(((String) at(message, "tool_calls", 0, "id")).startsWith("call_"));

        body.put("stream", true);
        List<Map<String, Object>> events;
        try (Http.Events s = http.stream("/v1/chat/completions", body)) {
            events = s.rest();
        }
        List<Map<String, Object>> calls = new ArrayList<>();
        String finish = null;
        int thinkingDeltas = 0;
        for (Map<String, Object> e : events) {
            Map<String, Object> d = map(at(e, "choices", 0, "delta"));
            assertTrue(!d.containsKey("content") || !((String) d.get("content")).contains("tool"), "no tag as content: " + d);
            if (d.get("reasoning_content") instanceof String r && !r.isEmpty()) thinkingDeltas++;
            if (d.containsKey("tool_calls")) calls.add(map(at(d, "tool_calls", 0)));
            if (at(e, "choices", 0, "finish_reason") != null) finish = (String) at(e, "choices", 0, "finish_reason");
        }
        assertEquals("tool_calls", finish);
        // forced tokens come one per delta (never merged), so the multi-token tags reached the parser in pieces
        assertEquals(ids(tokenizer.encodeOrdinary("I should look it up.")).size(), thinkingDeltas,
                "one delta per thinking token: " + events);
        assertTrue(calls.size() >= 2, "a start and argument fragments: " + calls);
        assertEquals(0L, calls.getFirst().get("index"));
        assertEquals("get_weather", at(calls.getFirst(), "function", "name"));
        assertEquals("", at(calls.getFirst(), "function", "arguments"));
        assertTrue(((String) calls.getFirst().get("id")).startsWith("call_"));
        StringBuilder args = new StringBuilder();
        for (Map<String, Object> c : calls.subList(1, calls.size())) {
            assertEquals(0L, c.get("index"));
            assertTrue(!c.containsKey("id") && !map(c.get("function")).containsKey("name"), "fragments carry arguments only");
            args.append(at(c, "function", "arguments"));
        }
        assertEquals("{\"city\": \"Paris\"}", args.toString());

        // a tool call written while thinking is reasoning, not a call
        List<Integer> inThought = ids(tokenizer.encode("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n"
                + "</tool_call></think>\n\nNo tool needed."));
        inThought.add(eos);
        Map<String, Object> r = Json.parseObject(http.post("/v1/chat/completions", chat("Hi", "tools", List.of(WEATHER_TOOL),
                "max_tokens", 80, "shardline_test_forced_token_ids", inThought)).body());
        assertEquals("stop", at(r, "choices", 0, "finish_reason"));
        assertNull(at(r, "choices", 0, "message", "tool_calls"));
        assertEquals("No tool needed.", at(r, "choices", 0, "message", "content"));
        assertTrue(((String) at(r, "choices", 0, "message", "reasoning_content")).contains("<tool_call>"));
    }

    @Test
    void toolChoiceRequiredOrNamedForcesTheCallOpening() {
        List<Integer> rest = ids(tokenizer.encodeOrdinary("{\"city\": \"Oslo\"}}\n</tool_call>"));
        rest.add(eos);
        Map<String, Object> named = Json.parseObject(http.post("/v1/chat/completions", chat("Weather?", "tools",
                List.of(WEATHER_TOOL), "tool_choice", Map.of("type", "function", "function", Map.of("name", "get_weather")),
                "max_tokens", 40, "shardline_test_forced_token_ids", rest)).body());
        assertEquals("get_weather", at(named, "choices", 0, "message", "tool_calls", 0, "function", "name"));
        assertEquals(Map.of("city", "Oslo"), Json.parse((String) at(named, "choices", 0, "message", "tool_calls", 0,
                "function", "arguments")));
        assertEquals(0L, at(named, "usage", "completion_tokens_details", "reasoning_tokens"));

        List<Integer> nameAndRest = ids(tokenizer.encodeOrdinary("get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>"));
        nameAndRest.add(eos);
        Map<String, Object> required = Json.parseObject(http.post("/v1/chat/completions", chat("Weather?", "tools",
                List.of(WEATHER_TOOL), "tool_choice", "required", "max_tokens", 40, "shardline_test_forced_token_ids",
                nameAndRest)).body());
        assertEquals("tool_calls", at(required, "choices", 0, "finish_reason"));
        assertEquals(Map.of("city", "Rome"), Json.parse((String) at(required, "choices", 0, "message", "tool_calls", 0,
                "function", "arguments")));

        assertError(http.post("/v1/chat/completions", chat("x", "tool_choice", "required")), 400, "tool_choice", "invalid_value");
        assertError(http.post("/v1/chat/completions", chat("x", "tools", List.of(WEATHER_TOOL), "tool_choice",
                Map.of("type", "function", "function", Map.of("name", "nope")))), 400, "tool_choice.function.name", "invalid_value");
    }

    static void assertError(HttpResponse<String> r, int status, String param, String code) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
        Map<String, Object> e = map(Json.parseObject(r.body()).get("error"));
        assertEquals(java.util.Set.of("message", "type", "param", "code"), e.keySet(), r.body());
        assertEquals(param, e.get("param"), r.body());
        assertEquals(code, e.get("code"), r.body());
        assertTrue(e.get("message") instanceof String m && !m.isBlank());
    }

    @Test
    void everyClientMistakeIsA4xxInOpenAisShapeNamingTheField() {
        String chat = "/v1/chat/completions";
        assertError(http.post(chat, chat("x", "top_p", 1.5)), 400, "top_p", "invalid_value");
        assertError(http.post(chat, chat("x", "temperature", "hot")), 400, "temperature", "invalid_value");
        assertError(http.post(chat, chat("x", "n", 2)), 400, "n", "unsupported_parameter");
        assertError(http.post(chat, chat("x", "response_format", Map.of("type", "json_schema"))), 400, "response_format",
                "unsupported_parameter");
        assertError(http.post(chat, chat("x", "frobnicate", 1)), 400, "frobnicate", "unsupported_parameter");
        assertError(http.post(chat, chat("x", "logprobs", true, "top_logprobs", 30)), 400, "top_logprobs", "invalid_value");
        assertError(http.post(chat, chat("x", "stream_options", Map.of("include_usage", true))), 400, "stream_options",
                "invalid_value");
        Map<String, Object> wizard = chat("x");
        wizard.put("messages", List.of(Map.of("role", "wizard", "content", "x")));
        assertError(http.post(chat, wizard), 400, "messages[0].role", "invalid_value");
        assertError(http.post(chat, chat("x", "max_tokens", 100_000)), 400, "max_tokens", "context_length_exceeded");
        assertError(http.post(chat, chat("x", "max_completion_tokens", 100_000)), 400, "max_completion_tokens",
                "context_length_exceeded");
        assertError(http.post("/v1/completions", Map.of("prompt", new int[40_000], "max_tokens", 4)), 400, "prompt",
                "context_length_exceeded");
        assertError(http.post("/v1/completions", Map.of("prompt", List.of(1, 999_999), "max_tokens", 4)), 400, "prompt[1]",
                "invalid_value");
        assertError(http.post(chat, chat("x", "model", "gpt-5")), 404, "model", "model_not_found");
        assertError(http.post(chat, "{\"messages\": [oops"), 400, null, "invalid_json");
        assertError(http.post(chat, chat("x".repeat(300_000))), 413, null, "request_too_large");
        assertError(http.get("/v1/nothing-here"), 404, null, "not_found");
        assertError(new Http(cluster.httpUrl(), null).post(chat, chat("x")), 401, null, "missing_api_key");
        assertError(new Http(cluster.httpUrl(), "sk-wrong").post(chat, chat("x")), 401, null, "invalid_api_key");
        assertEquals(200, new Http(cluster.httpUrl(), null).get("/health").statusCode(), "health needs no key");
    }

    @Test
    void modelsTokenizeDetokenizeEchoAndLogprobs() {
        Map<String, Object> models = Json.parseObject(http.get("/v1/models").body());
        assertEquals(cluster.coordinator().model().id(), at(models, "data", 0, "id"));
        assertEquals(32768L, at(models, "data", 0, "max_model_len"));
        Map<String, Object> t = Json.parseObject(http.post("/tokenize", Map.of("prompt", "Hello")).body());
        assertEquals(List.of(9707L), t.get("tokens"));
        assertEquals(1L, t.get("count"));
        Map<String, Object> tm = Json.parseObject(http.post("/tokenize", Map.of("messages",
                List.of(Map.of("role", "user", "content", "Hi")))).body());
        assertTrue((long) tm.get("count") > 5);
        assertEquals("Hello", Json.parseObject(http.post("/detokenize", Map.of("tokens", List.of(9707))).body()).get("prompt"));
        assertError(http.post("/detokenize", Map.of("tokens", List.of(999_999))), 400, "tokens[0]", "invalid_value");

        Map<String, Object> echo = Json.parseObject(http.post("/v1/completions", Map.of("prompt", "Hello", "echo", true,
                "max_tokens", 3, "temperature", 0, "ignore_eos", true)).body());
        assertTrue(((String) at(echo, "choices", 0, "text")).startsWith("Hello"));
        assertEquals("length", at(echo, "choices", 0, "finish_reason"));

        Map<String, Object> lp = Json.parseObject(http.post("/v1/chat/completions", chat("Hi", "logprobs", true,
                "max_tokens", 4, "ignore_eos", true)).body());
        List<Object> content = list(at(lp, "choices", 0, "logprobs", "content"));
        assertEquals(4, content.size());
        for (Object e : content) assertTrue(((Number) map(e).get("logprob")).doubleValue() <= 0);

        Map<String, Object> top = Json.parseObject(http.post("/v1/chat/completions", chat("Hi", "logprobs", true,
                "top_logprobs", 3, "max_tokens", 2, "ignore_eos", true)).body());
        for (Object e : list(at(top, "choices", 0, "logprobs", "content"))) {
            assertEquals(3, list(map(e).get("top_logprobs")).size(), "three alternatives per token");
        }
        Map<String, Object> biased = Json.parseObject(http.post("/v1/completions", Map.of("prompt", "x", "max_tokens", 3,
                "temperature", 0, "ignore_eos", true, "logit_bias", Map.of("9707", 100), "return_token_ids", true)).body());
        assertEquals(List.of(9707L, 9707L, 9707L), at(biased, "choices", 0, "token_ids"), "logit_bias reaches the sampler");
    }

    @Test
    void greedyOutputOverHttpEqualsGrpcAndOneProcess() throws Exception {
        int[] prompt = new SplittableRandom(7).ints(12, 0, 151643).toArray();
        int n = 10;
        List<Integer> alone = OneProcess.greedy(TestModels.get(DemoPreset.TINY), prompt, n);
        List<Integer> grpc;
        try (ClusterClient c = new ClusterClient(cluster.address())) {
            grpc = c.generate(ClusterClient.tokens(prompt, SamplingParams.newBuilder().setTemperature(0).setMaxTokens(n)
                    .setIgnoreEos(true).build()), null).tokenIds();
        }
        Map<String, Object> body = new LinkedHashMap<>(Map.of("prompt", ids(prompt), "max_tokens", n, "temperature", 0,
                "ignore_eos", true, "return_token_ids", true));
        Map<String, Object> r = Json.parseObject(http.post("/v1/completions", body).body());
        List<Integer> overHttp = list(at(r, "choices", 0, "token_ids")).stream().map(x -> ((Long) x).intValue()).toList();
        body.put("stream", true);
        List<Integer> streamed = new ArrayList<>();
        try (Http.Events s = http.stream("/v1/completions", body)) {
            for (Map<String, Object> e : s.rest()) {
                for (Object id : list(at(e, "choices", 0, "token_ids"))) streamed.add(((Long) id).intValue());
            }
        }
        assertEquals(alone, grpc, "gRPC == one process");
        assertEquals(alone, overHttp, "HTTP == one process");
        assertEquals(alone, streamed, "HTTP streamed == one process");
        assertEquals(tokenizer.decode(alone.stream().mapToInt(Integer::intValue).toArray()), at(r, "choices", 0, "text"));
    }

    @Test
    void aClientThatDisconnectsMidStreamFreesItsKvBlocksEverywhere() throws Exception {
        Map<String, Object> body = Map.of("prompt", List.of(1, 2, 3, 4), "max_tokens", 5000, "ignore_eos", true, "stream", true);
        long abortsBefore = Metrics.parse(cluster.coordinator().metrics().scrape())
                .value("shardline:request_success_total", "finished_reason", "abort");
        try (Http.Events s = http.stream("/v1/completions", body)) {
            assertEquals(200, s.response.statusCode());
            for (int i = 0; i < 3; i++) assertNotNull(s.next());
            assertTrue(usedBlocks() > 0, "the streaming sequence holds KV blocks");
        }
        await(() -> usedBlocks() == 0 && running() == 0, "coordinator blocks freed");
        for (WorkerProcess w : cluster.inProcessWorkers()) {
            ManagedChannel ch = NettyChannelBuilder.forTarget(w.address()).usePlaintext().build();
            try {
                await(() -> StageGrpc.newBlockingStub(ch).getStageStatus(StageStatusRequest.getDefaultInstance())
                        .getLiveSequences() == 0, "stage " + w.workerId() + " forgot the sequence");
            } finally {
                ch.shutdownNow();
            }
        }
        await(() -> Metrics.parse(cluster.coordinator().metrics().scrape())
                .value("shardline:request_success_total", "finished_reason", "abort") == abortsBefore + 1,
                "the request ended as aborted (it was still generating when the client left)");
    }

    /** Every series name a dashboard reads (the README lists them). */
    static final List<String> GOLDEN = List.of("shardline:num_requests_running", "shardline:num_requests_waiting",
            "shardline:kv_cache_usage_perc", "shardline:prompt_tokens_total", "shardline:generation_tokens_total",
            "shardline:time_to_first_token_seconds_bucket", "shardline:time_to_first_token_seconds_count",
            "shardline:time_to_first_token_seconds_sum", "shardline:inter_token_latency_seconds_bucket",
            "shardline:e2e_request_latency_seconds_bucket", "shardline:request_queue_time_seconds_bucket",
            "shardline:request_prefill_time_seconds_bucket", "shardline:request_decode_time_seconds_bucket",
            "shardline:request_inference_time_seconds_bucket", "shardline:request_prompt_tokens_bucket",
            "shardline:request_generation_tokens_bucket", "shardline:num_preemptions_total",
            "shardline:request_success_total", "shardline:pipelines", "shardline:stage_busy_fraction",
            "shardline:pipeline_hop_latency_seconds", "shardline:migrations_total",
            "shardline:migration_reprefill_tokens_total", "shardline:pipelines_formed_total",
            "shardline:pipelines_failed_total", "shardline:pipelines_drained_total",
            "shardline:requests_timed_out_waiting_total", "shardline:requests_cancelled_slow_consumer_total",
            "shardline:waiting_for_pipeline_requests", "shardline:waiting_for_pipeline_tokens", "shardline:pool_workers",
            "shardline:ready", "shardline:plan_epoch", "shardline:tokens_per_second",
            "shardline:tokens_per_second_per_pipeline");

    @Test
    void metricsParseHoldEveryNameAndCountKnownRequestsExactly() {
        HttpResponse<String> before = new Http(cluster.httpUrl(), null).get("/metrics");
        assertEquals(200, before.statusCode(), "metrics need no key");
        assertTrue(before.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        Metrics m0 = Metrics.parse(before.body());
        ServingFigures f0;
        GetClusterStatusResponse s0;
        try (ClusterClient c = new ClusterClient(cluster.address())) {
            s0 = c.status();
            f0 = s0.getServing();
        }
        int[] prompt = new SplittableRandom(11).ints(12, 0, 151643).toArray();
        int n = 6;
        HttpResponse<String> r = http.post("/v1/completions", Map.of("prompt", ids(prompt), "max_tokens", n, "temperature", 0,
                "ignore_eos", true));
        assertEquals(200, r.statusCode(), r.body());
        try (ClusterClient c = new ClusterClient(cluster.address())) {     // gRPC requests count the same
            c.generate(ClusterClient.tokens(prompt, SamplingParams.newBuilder().setTemperature(0).setMaxTokens(n)
                    .setIgnoreEos(true).build()), null);
        }
        Metrics m1 = Metrics.parse(http.get("/metrics").body());
        for (String name : GOLDEN) {
            assertTrue(m1.samples().stream().anyMatch(s -> s.name().equals(name)), "metric " + name + " is exported");
        }
        String model = cluster.coordinator().model().id();
        assertEquals(2 * 12, delta(m0, m1, "shardline:prompt_tokens_total", "model_name", model));
        assertEquals(2 * n, delta(m0, m1, "shardline:generation_tokens_total"));
        assertEquals(2, delta(m0, m1, "shardline:request_success_total", "finished_reason", "length"));
        assertEquals(0, delta(m0, m1, "shardline:request_success_total", "finished_reason", "stop"));
        assertEquals(2, delta(m0, m1, "shardline:time_to_first_token_seconds_count"));
        assertEquals(2 * (n - 1), delta(m0, m1, "shardline:inter_token_latency_seconds_count"));
        assertEquals(2, delta(m0, m1, "shardline:e2e_request_latency_seconds_count"));
        assertEquals(2, delta(m0, m1, "shardline:request_queue_time_seconds_count"));
        assertEquals(2 * 12, delta(m0, m1, "shardline:request_prompt_tokens_sum"));
        assertEquals(2 * n, delta(m0, m1, "shardline:request_generation_tokens_sum"));
        assertEquals(2, delta(m0, m1, "shardline:time_to_first_token_seconds_bucket", "le", "+Inf"));
        assertEquals(2, delta(m0, m1, "shardline:time_to_first_token_seconds_bucket", "le", "2560.0"));
        assertTrue(m1.samples().stream().anyMatch(s -> s.name().equals("shardline:time_to_first_token_seconds_bucket")
                && "0.001".equals(s.labels().get("le"))), "vLLM's first TTFT bucket");
        assertEquals(1, m1.value("shardline:pipelines", "state", "serving"));
        assertEquals(1, m1.value("shardline:ready"));
        assertEquals(2, m1.samples().stream().filter(s -> s.name().equals("shardline:stage_busy_fraction")).count());
        double kv = m1.sum("shardline:kv_cache_usage_perc");
        assertTrue(kv >= 0 && kv <= 1, "KV usage is a fraction: " + kv);
        assertEquals("counter", m1.types().get("shardline:prompt_tokens_total"), m1.types().toString());
        assertEquals("histogram", m1.types().get("shardline:time_to_first_token_seconds"));

        // the same figures over gRPC status, for the command line
        ServingFigures f1;
        GetClusterStatusResponse s1;
        try (ClusterClient c = new ClusterClient(cluster.address())) {
            s1 = c.status();
            f1 = s1.getServing();
        }
        // throughput over the last minute (ADR 0010): filled, and the known requests' tokens are in its window
        // (which begins at or before the read before them, and no earlier than the coordinator's start)
        assertTrue(s0.hasTokensPerSecond() && s0.hasTokensPerSecondPerPipeline() && s0.hasKvUsage(), "filled");
        double age = (System.nanoTime() - startedNanos) / 1e9;
        assertTrue(s1.getTokensPerSecond() * age >= 2 * (12 + n),
                s1.getTokensPerSecond() + " tokens/s over at most " + age + " s hold the " + 2 * (12 + n) + " tokens");
        assertTrue(s1.getTokensPerSecond() != s0.getTokensPerSecond(), "moved: " + s0.getTokensPerSecond());
        assertEquals(s1.getTokensPerSecond(), s1.getTokensPerSecondPerPipeline(), 1e-9 * s1.getTokensPerSecond(),
                "one pipeline worked throughout: per pipeline = whole cluster");
        assertTrue(m1.sum("shardline:tokens_per_second") > 0 && m1.sum("shardline:tokens_per_second_per_pipeline") > 0,
                "and on /metrics");
        assertEquals(2 * 12, f1.getPromptTokens() - f0.getPromptTokens());
        assertEquals(2 * n, f1.getGenerationTokens() - f0.getGenerationTokens());
        assertEquals(2, f1.getRequestsFinishedOrDefault("length", 0) - f0.getRequestsFinishedOrDefault("length", 0));
        assertEquals(m1.value("shardline:request_success_total", "finished_reason", "length"),
                f1.getRequestsFinishedOrDefault("length", -1));
        assertEquals(2, f1.getTimeToFirstToken().getCount() - f0.getTimeToFirstToken().getCount());
        assertEquals(m1.value("shardline:e2e_request_latency_seconds_count"), f1.getE2ERequestLatency().getCount());
        assertEquals(m1.value("shardline:inter_token_latency_seconds_count"), f1.getInterTokenLatency().getCount());
        LatencySummary ttft = f1.getTimeToFirstToken();
        assertTrue(ttft.getP50Seconds() > 0 && ttft.getP50Seconds() <= ttft.getP90Seconds()
                && ttft.getP90Seconds() <= ttft.getP99Seconds(), ttft.toString());
    }

    static long delta(Metrics a, Metrics b, String name, String... labels) {
        return b.value(name, labels) - a.value(name, labels);
    }

    static int usedBlocks() {
        return cluster.cluster().status().pipelines().stream().filter(p -> p.runner() != null)
                .mapToInt(p -> p.runner().snapshot().blocksUsed()).sum();
    }

    static int running() {
        return cluster.cluster().status().pipelines().stream().filter(p -> p.runner() != null)
                .mapToInt(p -> p.runner().snapshot().running()).sum();
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting: " + what);
            Thread.sleep(20);
        }
    }

    @Test
    void aHundredConcurrentStreamsAllComplete() throws Exception {
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Future<Map<String, Object>>> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                int seed = i;
                all.add(pool.submit(() -> {
                    try (Http.Events s = http.stream("/v1/chat/completions", chat("Stream " + seed, "stream", true,
                            "max_tokens", 8, "ignore_eos", true, "seed", seed, "stream_options", Map.of("include_usage", true)))) {
                        List<Map<String, Object>> events = s.rest();
                        return events.getLast();
                    }
                }));
            }
            for (Future<Map<String, Object>> f : all) {
                assertEquals(8L, at(f.get(5, TimeUnit.MINUTES), "usage", "completion_tokens"));
            }
        } finally {
            pool.shutdownNow();
        }
        await(() -> usedBlocks() == 0, "all blocks free after 100 streams");
    }
}
