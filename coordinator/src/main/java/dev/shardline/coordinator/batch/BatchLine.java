package dev.shardline.coordinator.batch;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One OpenAI Batch input line, read from a requests record: {@code custom_id}, {@code method}, {@code url},
 * {@code body}. A line without an id cannot be answered and goes to the dead letters; every other problem is the
 * request's error, answered under its id.
 */
sealed interface BatchLine {

    /** A line with an id: {@code problem} is null when method, url and body have the right types. */
    record Readable(String customId, String method, String url, Map<String, Object> body, String problem)
            implements BatchLine {
    }

    /** Not a JSON object, or no string custom_id: a dead letter. */
    record Unreadable(String reason) implements BatchLine {
    }

    @SuppressWarnings("unchecked")
    static BatchLine read(byte[] value) {
        if (value == null) return new Unreadable("the record has no value (a tombstone)");
        Object v;
        try {
            v = Json.parse(new String(value, StandardCharsets.UTF_8));
        } catch (JsonException e) {
            return new Unreadable("not JSON: " + e.getMessage());
        }
        if (!(v instanceof Map<?, ?> m)) return new Unreadable("the line must be a JSON object, got " + Json.typeName(v));
        Map<String, Object> line = (Map<String, Object>) m;
        if (!(line.get("custom_id") instanceof String id) || id.isEmpty()) {
            return new Unreadable("custom_id: a non-empty string is required, got "
                    + (line.get("custom_id") == null ? "none" : Json.typeName(line.get("custom_id"))));
        }
        Object method = line.getOrDefault("method", "POST");
        Object url = line.get("url");
        Object body = line.get("body");
        String problem = null;
        if (!"POST".equals(method)) problem = "method: only POST is supported, got " + method;
        else if (!(url instanceof String)) problem = "url: a string is required";
        else if (!(body instanceof Map)) problem = "body: a JSON object is required, got " + Json.typeName(body);
        return new Readable(id, method instanceof String s ? s : String.valueOf(method), url instanceof String u ? u : "",
                body instanceof Map ? (Map<String, Object>) body : Map.of(), problem);
    }
}
