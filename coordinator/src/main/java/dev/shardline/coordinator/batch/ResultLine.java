package dev.shardline.coordinator.batch;

import dev.shardline.coordinator.http.BatchCalls;
import dev.shardline.model.json.Json;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * OpenAI Batch output lines: {@code {"id", "custom_id", "response": {"status_code", "request_id", "body"},
 * "error"}}. An answer the endpoint gave (200 or its error status) goes in {@code response}; a request the batch
 * itself ended (cancelled, expired) has {@code response: null} and an {@code error} with its code.
 */
final class ResultLine {
    static final String CANCELLED = "batch_cancelled";
    static final String EXPIRED = "batch_expired";

    static String answered(String lineId, String customId, String requestId, BatchCalls.Answer answer) {
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("status_code", answer.status());
        response.put("request_id", requestId);
        response.put("body", Json.parse(answer.body()));
        return line(lineId, customId, response, null);
    }

    static String ended(String lineId, String customId, String code, String message) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", code);
        error.put("message", message);
        return line(lineId, customId, null, error);
    }

    private static String line(String lineId, String customId, Map<String, Object> response, Map<String, Object> error) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", lineId);
        m.put("custom_id", customId);
        m.put("response", response);
        m.put("error", error);
        return Json.write(m);
    }

    /** True when the line is in the output file (a 200 answer), false for the error file. */
    static boolean succeeded(Map<String, Object> line) {
        return line.get("response") instanceof Map<?, ?> r && r.get("status_code") instanceof Number n && n.intValue() == 200;
    }

    private ResultLine() {
    }
}
