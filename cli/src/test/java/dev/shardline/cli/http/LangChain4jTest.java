package dev.shardline.cli.http;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.PartialToolCall;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiChatRequestParameters;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.cli.cluster.TestModels;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.json.Json;
import dev.shardline.model.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real OpenAI client, LangChain4j's OpenAI module, pointed at a local tiny cluster's HTTP API: a chat call, a
 * streaming chat call, and a tool-calling round trip (tool definition in, a tool_calls answer parsed by the client,
 * the tool's result sent back), in both modes. Random weights call no tool on their own: the forced-token test hook
 * makes the model emit the {@code <tool_call>} block through the real sampler, as ordinary text tokens, so that
 * the tags span several tokens.
 */
class LangChain4jTest {
    static final String KEY = "sk-langchain";
    static LocalCluster cluster;
    static Tokenizer tokenizer;
    static int eos;
    static final ToolSpecification WEATHER = ToolSpecification.builder().name("get_weather").description("Weather of a city")
            .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();

    @BeforeAll
    static void start() throws InterruptedException {
        cluster = LocalCluster.start(TestModels.get(DemoPreset.TINY), 2, 0, 1, 4L << 30,
                Map.of("pipelines", "1", "max-kv-blocks", "400", "kv-reserve-tokens", "64", "test-hooks", "true",
                        "api-keys", KEY), false, line -> { });
        tokenizer = cluster.coordinator().model().tokenizer();
        eos = cluster.coordinator().model().eosTokenIds().getFirst();
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    static OpenAiChatModel blocking() {
        return OpenAiChatModel.builder().baseUrl(cluster.httpUrl() + "/v1").apiKey(KEY)
                .modelName(cluster.coordinator().model().id()).returnThinking(true).timeout(Duration.ofMinutes(2)).build();
    }

    static OpenAiStreamingChatModel streaming() {
        return OpenAiStreamingChatModel.builder().baseUrl(cluster.httpUrl() + "/v1").apiKey(KEY)
                .modelName(cluster.coordinator().model().id()).returnThinking(true).timeout(Duration.ofMinutes(2)).build();
    }

    static List<Integer> tokens(String text, boolean ordinary) {
        List<Integer> out = new ArrayList<>();
        for (int id : ordinary ? tokenizer.encodeOrdinary(text) : tokenizer.encode(text)) out.add(id);
        return out;
    }

    /** Thinking, then a tool call written as ordinary text tokens, then EOS. */
    static List<Integer> callingTheTool(String city) {
        List<Integer> f = tokens("I need the weather.</think>\n\n", false);
        f.addAll(tokens("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"" + city + "\"}}\n</tool_call>", true));
        f.add(eos);
        return f;
    }

    static List<Integer> answering(String answer) {
        List<Integer> f = tokens("Done.</think>\n\n" + answer, false);
        f.add(eos);
        return f;
    }

    static ChatRequest request(List<ChatMessage> messages, List<Integer> forced, boolean tools) {
        OpenAiChatRequestParameters.Builder p = OpenAiChatRequestParameters.builder().maxOutputTokens(64)
                .customParameters(Map.of("shardline_test_forced_token_ids", forced));
        if (tools) p.toolSpecifications(WEATHER);
        return ChatRequest.builder().messages(messages).parameters(p.build()).build();
    }

    @Test
    void aChatCall() {
        ChatResponse r = blocking().chat(request(List.of(UserMessage.from("2+2?")), answering("Four."), false));
        assertEquals("Four.", r.aiMessage().text());
        assertEquals("Done.", r.aiMessage().thinking());
        assertEquals(FinishReason.STOP, r.finishReason());
        assertEquals(answering("Four.").size(), r.tokenUsage().outputTokenCount());
    }

    /** Collects a streamed answer; the future completes with the whole response. */
    static final class Collector implements StreamingChatResponseHandler {
        final List<String> text = Collections.synchronizedList(new ArrayList<>());
        final List<String> thinking = Collections.synchronizedList(new ArrayList<>());
        final List<PartialToolCall> calls = Collections.synchronizedList(new ArrayList<>());
        final List<String> order = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        @Override
        public void onPartialResponse(String partial) {
            text.add(partial);
            order.add("text");
        }

        @Override
        public void onPartialThinking(PartialThinking partial) {
            thinking.add(partial.text());
            order.add("thinking");
        }

        @Override
        public void onPartialToolCall(PartialToolCall call) {
            calls.add(call);
            order.add("call");
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            order.add("complete");
            done.complete(response);
        }

        @Override
        public void onError(Throwable error) {
            done.completeExceptionally(error);
        }
    }

    @Test
    void aStreamingChatCall() throws Exception {
        Collector c = new Collector();
        streaming().chat(request(List.of(UserMessage.from("2+2?")), answering("Four, I am sure of it."), false), c);
        ChatResponse r = c.done.get(2, TimeUnit.MINUTES);
        assertEquals("Four, I am sure of it.", String.join("", c.text));
        assertEquals("Four, I am sure of it.", r.aiMessage().text());
        assertEquals("Done.", String.join("", c.thinking));
        assertTrue(c.order.indexOf("text") >= 0 && c.order.indexOf("text") < c.order.indexOf("complete"),
                "the answer streamed before the end: " + c.order);
        assertTrue(c.order.indexOf("thinking") < c.order.indexOf("text"), "thinking first: " + c.order);
    }

    @Test
    void aToolCallingRoundTrip() {
        UserMessage q = UserMessage.from("What is the weather in Paris?");
        ChatResponse first = blocking().chat(request(List.of(q), callingTheTool("Paris"), true));
        assertEquals(FinishReason.TOOL_EXECUTION, first.finishReason());
        AiMessage call = first.aiMessage();
        assertEquals(1, call.toolExecutionRequests().size());
        ToolExecutionRequest tr = call.toolExecutionRequests().getFirst();
        assertEquals("get_weather", tr.name());
        assertEquals(Map.of("city", "Paris"), Json.parse(tr.arguments()));
        assertTrue(tr.id().startsWith("call_"));
        ChatResponse second = blocking().chat(request(List.of(q, call, ToolExecutionResultMessage.from(tr, "sunny, 21 C")),
                answering("It is sunny in Paris."), true));
        assertEquals("It is sunny in Paris.", second.aiMessage().text());
        assertEquals(FinishReason.STOP, second.finishReason());
    }

    @Test
    void aStreamingToolCallingRoundTrip() throws Exception {
        UserMessage q = UserMessage.from("What is the weather in Oslo?");
        Collector c = new Collector();
        streaming().chat(request(List.of(q), callingTheTool("Oslo"), true), c);
        ChatResponse first = c.done.get(2, TimeUnit.MINUTES);
        assertEquals(FinishReason.TOOL_EXECUTION, first.finishReason());
        ToolExecutionRequest tr = first.aiMessage().toolExecutionRequests().getFirst();
        assertEquals("get_weather", tr.name());
        assertEquals(Map.of("city", "Oslo"), Json.parse(tr.arguments()));
        assertTrue(!c.calls.isEmpty(), "the client saw partial tool calls");
        assertEquals("get_weather", c.calls.getFirst().name());
        assertEquals(tr.id(), c.calls.getFirst().id());
        assertTrue(c.order.indexOf("call") < c.order.indexOf("complete"), "the call streamed before the end: " + c.order);

        Collector d = new Collector();
        streaming().chat(request(List.of(q, first.aiMessage(), ToolExecutionResultMessage.from(tr, "snow, -3 C")),
                answering("It snows in Oslo."), true), d);
        assertEquals("It snows in Oslo.", d.done.get(2, TimeUnit.MINUTES).aiMessage().text());
    }
}
