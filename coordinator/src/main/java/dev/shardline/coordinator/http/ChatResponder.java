package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationDelta;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.TokenSink;
import dev.shardline.model.chat.ToolCallParser;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * A chat completion's answer, as a {@link TokenSink}: streamed as {@code chat.completion.chunk} events (a role
 * chunk, then reasoning as {@code reasoning_content} and {@code reasoning}, content, tool-call deltas with index, id
 * and name first and then argument fragments, a last chunk with the finish reason, usage when asked for, and
 * {@code [DONE]}), or as one {@code chat.completion} at the end. Tool calls are parsed from the answer only.
 */
final class ChatResponder implements TokenSink {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final ChatRequests.ChatCall call;
    private final AnswerChannel out;
    private final String id;
    private final long created;
    private final String model;
    private final IntFunction<String> tokenText;
    private final ToolCallParser tools;
    private final List<ToolCallParser.Event> pending = new ArrayList<>();
    private final List<Object> logprobs = new ArrayList<>();
    private boolean roleSent;
    private List<Integer> tokenIds = List.of();        // the current delta's, for return_token_ids

    ChatResponder(ChatRequests.ChatCall call, AnswerChannel out, String id, long created, String model,
                  IntFunction<String> tokenText) {
        this.call = call;
        this.out = out;
        this.id = id;
        this.created = created;
        this.model = model;
        this.tokenText = tokenText;
        this.tools = call.tools() == ChatRequests.ToolMode.NONE ? null : new ToolCallParser(ids(), call.maxCalls());
        if (tools != null) pending.addAll(tools.push(call.answerPrefix()));
    }

    /** OpenAI-style call ids: call_ and 24 random letters and digits. */
    static Supplier<String> ids() {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return () -> {
            StringBuilder sb = new StringBuilder("call_");
            for (int i = 0; i < 24; i++) sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
            return sb.toString();
        };
    }

    @Override
    public void onStarted() {
        if (call.streaming().stream()) out.open();
    }

    @Override
    public void onDelta(GenerationDelta d) throws InterruptedException {
        if (!call.streaming().stream()) {
            if (call.logprobs()) logprobs.addAll(Shapes.chatLogprobs(d, tokenText));
            return;
        }
        List<Map<String, Object>> deltas = new ArrayList<>();
        if (!d.reasoning().isEmpty()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("reasoning_content", d.reasoning());
            r.put("reasoning", d.reasoning());
            deltas.add(r);
        }
        if (tools != null) {
            pending.addAll(tools.push(d.answer()));
            deltas.addAll(events());
        } else if (!d.answer().isEmpty()) {
            deltas.add(Shapes.obj("content", d.answer()));
        }
        List<Object> lp = call.logprobs() ? Shapes.chatLogprobs(d, tokenText) : List.of();
        tokenIds = d.tokenIds();
        send(deltas, lp, null);
    }

    @Override
    public void onComplete(Completion c) {
        try {
            if (!call.streaming().stream()) {
                out.end(200, ResponseChannel.JSON, dev.shardline.model.json.Json.write(whole(c)));
                return;
            }
            if (tools != null) pending.addAll(tools.finish());
            List<Map<String, Object>> deltas = events();
            tokenIds = List.of();
            send(deltas, List.of(), null);
            boolean called = tools != null && tools.calls() > 0;
            send(List.of(), List.of(), Shapes.finishReason(c.finishReason(), called));
            StringBuilder end = new StringBuilder();
            if (call.streaming().includeUsage()) {
                Map<String, Object> u = chunkBase();
                u.put("choices", List.of());
                u.put("usage", Shapes.usage(c, true));
                end.append(Shapes.sse(u));
            }
            out.end(200, ResponseChannel.SSE, end.append(Shapes.DONE).toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void onError(GenerationException e) {
        out.fail(OpenAiErrors.of(e, call.fieldNames()));
    }

    private Map<String, Object> whole(Completion c) {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("role", "assistant");
        String content = c.answer();
        List<Object> calls = new ArrayList<>();
        if (tools != null) {
            ToolCallParser.Parsed p = ToolCallParser.parse(call.answerPrefix() + c.answer(), ids(), call.maxCalls());
            content = p.content();
            for (ToolCallParser.Call tc : p.calls()) {
                calls.add(Shapes.obj("id", tc.id(), "type", "function", "function",
                        Shapes.obj("name", tc.name(), "arguments", tc.arguments())));
            }
        }
        message.put("content", !calls.isEmpty() && content.isBlank() ? null : content);
        message.put("reasoning_content", c.reasoning().isEmpty() ? null : c.reasoning());
        message.put("reasoning", c.reasoning().isEmpty() ? null : c.reasoning());
        if (!calls.isEmpty()) message.put("tool_calls", calls);
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("message", message);
        choice.put("logprobs", call.logprobs() ? Map.of("content", logprobs) : null);
        choice.put("finish_reason", Shapes.finishReason(c.finishReason(), !calls.isEmpty()));
        if (call.streaming().returnTokenIds()) choice.put("token_ids", c.tokenIds());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", id);
        r.put("object", "chat.completion");
        r.put("created", created);
        r.put("model", model);
        r.put("choices", List.of(choice));
        r.put("usage", Shapes.usage(c, true));
        return r;
    }

    /** The pending tool-call parser events as deltas. */
    private List<Map<String, Object>> events() {
        List<Map<String, Object>> deltas = new ArrayList<>();
        for (ToolCallParser.Event e : pending) {
            switch (e) {
                case ToolCallParser.Content c -> deltas.add(Shapes.obj("content", c.text()));
                case ToolCallParser.CallStart s -> deltas.add(Shapes.obj("tool_calls", List.of(Shapes.obj("index", s.index(),
                        "id", s.id(), "type", "function", "function", Shapes.obj("name", s.name(), "arguments", "")))));
                case ToolCallParser.CallArguments a -> deltas.add(Shapes.obj("tool_calls", List.of(Shapes.obj("index", a.index(),
                        "function", Shapes.obj("arguments", a.fragment())))));
            }
        }
        pending.clear();
        return deltas;
    }

    /** One chunk per delta (log-probs ride on the first; a chunk of their own when no text came). */
    private void send(List<Map<String, Object>> deltas, List<Object> lp, String finishReason) throws InterruptedException {
        StringBuilder sb = new StringBuilder();
        if (!roleSent) {
            roleSent = true;
            Map<String, Object> role = new LinkedHashMap<>();
            role.put("role", "assistant");
            role.put("content", "");
            sb.append(Shapes.sse(chunk(role, List.of(), null, List.of())));
        }
        if (deltas.isEmpty() && (!lp.isEmpty() || finishReason != null)) deltas = List.of(Map.of());
        if (deltas.isEmpty() && call.streaming().returnTokenIds() && !tokenIds.isEmpty()) deltas = List.of(Map.of());
        for (int i = 0; i < deltas.size(); i++) {
            sb.append(Shapes.sse(chunk(deltas.get(i), i == 0 ? lp : List.of(), finishReason, i == 0 ? tokenIds : List.of())));
        }
        if (!sb.isEmpty()) out.write(sb.toString());
    }

    private Map<String, Object> chunk(Map<String, Object> delta, List<Object> lp, String finishReason, List<Integer> ids) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("delta", delta);
        choice.put("logprobs", lp.isEmpty() ? null : Map.of("content", lp));
        choice.put("finish_reason", finishReason);
        if (call.streaming().returnTokenIds()) choice.put("token_ids", ids);
        Map<String, Object> c = chunkBase();
        c.put("choices", List.of(choice));
        if (call.streaming().includeUsage()) c.put("usage", null);
        return c;
    }

    private Map<String, Object> chunkBase() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("id", id);
        c.put("object", "chat.completion.chunk");
        c.put("created", created);
        c.put("model", model);
        return c;
    }
}
