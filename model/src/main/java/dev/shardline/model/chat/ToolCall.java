package dev.shardline.model.chat;

import dev.shardline.model.json.Json;

import java.util.Objects;

/**
 * One function call made by the assistant, as it appears in the chat history.
 *
 * <p>{@code arguments} is rendered with the template's {@code | tojson}: a Map/List renders as a JSON object/array,
 * a String renders as a JSON <em>string literal</em> (exactly what the Jinja template does with an OpenAI-style
 * argument string). OpenAI clients send arguments as JSON text; vLLM parses that text into a dict before applying the
 * template, which is what {@link #parsed(String, String)} does.
 */
public record ToolCall(String name, Object arguments) {
    public ToolCall {
        Objects.requireNonNull(name, "name");
    }

    /** Arguments kept as given (Map, List, String, number...). */
    public static ToolCall of(String name, Object arguments) {
        return new ToolCall(name, arguments);
    }

    /**
     * Arguments given as JSON text (OpenAI wire format), parsed into a Map/List so that they render as a JSON object,
     * like vLLM's chat preprocessing. Throws {@link dev.shardline.model.json.JsonException} on malformed text.
     */
    public static ToolCall parsed(String name, String argumentsJson) {
        return new ToolCall(name, Json.parse(argumentsJson));
    }
}
