package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.coordinator.generation.Prompt;
import dev.shardline.model.chat.ChatMessage;
import dev.shardline.model.chat.ReasoningParser;
import dev.shardline.model.chat.ToolCall;
import dev.shardline.model.chat.ToolCallParser;
import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Reads a {@code POST /v1/chat/completions} body into a generation request: messages (system, developer as
 * system, user, assistant with tool calls and reasoning, tool), tools and tool_choice, log-probs and the shared
 * fields. {@code tool_choice} required or a named function is honoured by forcing the assistant's turn to open a
 * tool call ({@link Prompt.Chat#assistantPrefix}): the prefix closes the (empty) thinking block, so QwQ does not
 * reason first, then opens {@code <tool_call>} and, for a named function, writes its name.
 */
final class ChatRequests {
    static final Set<String> KEYS;
    private static final Map<String, String> UNSUPPORTED_RESPONSE_FORMAT = Map.of("response_format",
            "only {\"type\": \"text\"} is supported: there is no constrained decoding for JSON output");

    static {
        Set<String> k = new HashSet<>(CommonFields.KEYS);
        k.addAll(Set.of("messages", "tools", "tool_choice", "parallel_tool_calls", "logprobs", "top_logprobs",
                "max_completion_tokens", "response_format"));
        KEYS = Set.copyOf(k);
    }

    /** How the answer's tool calls are handled. */
    enum ToolMode { NONE, AUTO, FORCED }

    /**
     * A chat request read: the generation request, streaming options, whether to parse tool calls, the answer text
     * that the forced prefix already holds (fed to the tool-call parser first), how many calls to report, and
     * how the service's field names read in this body.
     */
    record ChatCall(GenerationRequest request, CommonFields.Streaming streaming, ToolMode tools, String answerPrefix,
                    int maxCalls, boolean logprobs, UnaryOperator<String> fieldNames) {
    }

    static ChatCall read(Body body, String tenant, String requestId) {
        body.allowOnly(KEYS, CommonFields.UNSUPPORTED);
        if (body.has("response_format")) {
            Body f = body.object("response_format");
            if (!"text".equals(f.optString("type", "text"))) {
                throw ApiError.unsupported("response_format", UNSUPPORTED_RESPONSE_FORMAT.get("response_format")).exception();
            }
        }
        List<ChatMessage> messages = messages(body);
        List<Object> tools = new ArrayList<>();
        Set<String> toolNames = new HashSet<>();
        if (body.has("tools")) {
            List<Object> l = body.list("tools");
            for (int i = 0; i < l.size(); i++) {
                Body t = body.element("tools", i, l.get(i));
                if (!"function".equals(t.optString("type", "function"))) {
                    throw ApiError.unsupported(t.name("type"), "only function tools are supported").exception();
                }
                toolNames.add(t.object("function").string("name"));
                tools.add(t.map());
            }
        }
        String prefix = "";
        String answerPrefix = "";
        ToolMode mode = tools.isEmpty() ? ToolMode.NONE : ToolMode.AUTO;
        if (body.has("tool_choice")) {
            Object c = body.raw("tool_choice");
            String named = null;
            if (c instanceof String s) {
                switch (s) {
                    case "none" -> mode = ToolMode.NONE;
                    case "auto" -> { }
                    case "required" -> mode = ToolMode.FORCED;
                    default -> throw ApiError.invalid("tool_choice", "must be none, auto, required or "
                            + "{\"type\": \"function\", \"function\": {\"name\": ...}}, got \"" + s + "\"").exception();
                }
            } else {
                Body choice = body.object("tool_choice");
                named = choice.object("function").string("name");
                if (!toolNames.contains(named)) {
                    throw ApiError.invalid("tool_choice.function.name", "names \"" + named + "\", which is not among the "
                            + "tools " + toolNames).exception();
                }
                mode = ToolMode.FORCED;
            }
            if (mode == ToolMode.FORCED && tools.isEmpty()) {
                throw ApiError.invalid("tool_choice", "needs tools").exception();
            }
            if (mode == ToolMode.FORCED) {
                answerPrefix = ToolCallParser.OPEN + "\n{\"name\": " + (named == null ? "\"" : Json.write(named) + ", \"arguments\": ");
                prefix = ReasoningParser.THINK_END + "\n\n" + answerPrefix;
            }
        }
        boolean parallel = body.optBool("parallel_tool_calls", true);
        boolean logprobs = body.optBool("logprobs", false);
        Integer top = body.optInt("top_logprobs");
        GenerationRequest.Builder b = GenerationRequest.builder(new Prompt.Chat(messages, tools, prefix))
                .tenant(tenant).requestId(requestId).logprobs(logprobs, top == null ? 0 : top);
        CommonFields.Streaming streaming = CommonFields.read(body, b, CommonFields.maxTokens(body, true));
        return new ChatCall(b.build(), streaming, mode, answerPrefix, parallel ? Integer.MAX_VALUE : 1, logprobs,
                CommonFields.fieldNames(body, "messages"));
    }

    static List<ChatMessage> messages(Body body) {
        List<Object> l = body.list("messages");
        List<ChatMessage> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            Body m = body.element("messages", i, l.get(i));
            String role = m.string("role");
            m.allowOnly(Set.of("role", "content", "tool_calls", "tool_call_id", "reasoning_content", "reasoning", "refusal"),
                    Map.of("name", "participant names are not supported (QwQ's chat template has no place for them)",
                            "audio", "audio is not supported", "function_call", "use tool_calls"));
            if (role.equals("developer")) role = ChatMessage.SYSTEM;
            if (!Set.of(ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT, ChatMessage.TOOL).contains(role)) {
                throw ApiError.invalid(m.name("role"), "must be system, developer, user, assistant or tool, got \""
                        + role + "\"").exception();
            }
            // reasoning_content / reasoning of earlier turns are accepted and, as QwQ's template does with earlier
            // thinking, left out of the prompt
            m.optString("reasoning_content", "");
            m.optString("reasoning", "");
            List<ToolCall> calls = new ArrayList<>();
            if (m.has("tool_calls")) {
                if (!role.equals(ChatMessage.ASSISTANT)) {
                    throw ApiError.invalid(m.name("tool_calls"), "only assistant messages carry tool calls").exception();
                }
                List<Object> tc = m.list("tool_calls");
                for (int j = 0; j < tc.size(); j++) {
                    Body call = m.element("tool_calls", j, tc.get(j));
                    Body f = call.object("function");
                    String args = f.optString("arguments", "{}");
                    try {
                        calls.add(ToolCall.parsed(f.string("name"), args.isBlank() ? "{}" : args));
                    } catch (JsonException e) {
                        throw ApiError.invalid(f.name("arguments"), "must be JSON text: " + e.getMessage()).exception();
                    }
                }
            }
            out.add(new ChatMessage(role, content(m), calls));
        }
        if (out.isEmpty()) throw ApiError.invalid("messages", "at least one message is needed").exception();
        return out;
    }

    /** A string, null, or text parts. */
    private static String content(Body m) {
        Object c = m.raw("content");
        if (c == null) return "";
        if (c instanceof String s) return s;
        List<Object> parts = m.list("content");
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < parts.size(); j++) {
            Body p = m.element("content", j, parts.get(j));
            String type = p.string("type");
            if (!type.equals("text")) {
                throw ApiError.unsupported(p.name("type"), "only text parts are supported, got \"" + type + "\"").exception();
            }
            sb.append(p.string("text"));
        }
        return sb.toString();
    }

    private ChatRequests() {
    }
}
