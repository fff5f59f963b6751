package dev.shardline.coordinator.http;

import dev.shardline.model.json.Json;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One error answer in OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}}, with its HTTP status
 * and, for 429 and 503, how long to wait ({@code Retry-After}).
 */
record ApiError(int status, String type, String code, String param, String message, Duration retryAfter) {

    static final String INVALID_REQUEST = "invalid_request_error";

    /** A 400 for a field with a value out of range or of the wrong type. */
    static ApiError invalid(String param, String message) {
        return new ApiError(400, INVALID_REQUEST, "invalid_value", param, param == null ? message : param + ": " + message, null);
    }

    /** A 400 for a parameter (or a value of one) this server does not support. */
    static ApiError unsupported(String param, String message) {
        return new ApiError(400, INVALID_REQUEST, "unsupported_parameter", param, param + ": " + message, null);
    }

    String json() {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("message", message);
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return Json.write(Map.of("error", e));
    }

    /** The error as an exception, thrown while a request is read. */
    ApiException exception() {
        return new ApiException(this);
    }

    /** A request that cannot be served, with its answer. */
    static final class ApiException extends RuntimeException {
        private final ApiError error;

        ApiException(ApiError error) {
            super(error.message());
            this.error = error;
        }

        ApiError error() {
            return error;
        }
    }
}
