package dev.shardline.model.chat;

import java.util.List;
import java.util.Objects;

/**
 * One message of a chat conversation, as the QwQ chat template sees it.
 *
 * @param role      "system", "user", "assistant" or "tool" (anything else is rejected by {@link ChatTemplate#render})
 * @param content   the text; never null (null becomes ""), may be empty
 * @param toolCalls function calls of an assistant message; never null (null becomes an empty list)
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls) {
    public static final String SYSTEM = "system";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";
    public static final String TOOL = "tool";

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        content = content == null ? "" : content;
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public ChatMessage(String role, String content) {
        this(role, content, List.of());
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(SYSTEM, content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(USER, content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(ASSISTANT, content);
    }

    /** An assistant turn that calls tools; content may be empty. */
    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        return new ChatMessage(ASSISTANT, content, toolCalls);
    }

    /** A tool result. */
    public static ChatMessage tool(String content) {
        return new ChatMessage(TOOL, content);
    }
}
