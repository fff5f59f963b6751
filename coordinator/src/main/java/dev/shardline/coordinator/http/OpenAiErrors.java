package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.model.json.JsonException;

import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * The one place where errors become HTTP answers: the generation service's domain errors, the server's own (no or
 * a wrong API key, an unknown route, a body over the limit, malformed JSON) and anything unexpected. A client
 * mistake is always a 4xx that names the field; 5xx only for the cluster (no pipeline in time: 503 with
 * Retry-After) or a real internal failure.
 */
final class OpenAiErrors {
    /** What a 503 (no pipeline came in time) tells clients to wait. */
    static final Duration UNAVAILABLE_RETRY_AFTER = Duration.ofSeconds(2);

    /**
     * @param fieldNames turns the service's field names into this endpoint's (e.g. "prompt" is "messages" for chat)
     */
    static ApiError of(Throwable t, UnaryOperator<String> fieldNames) {
        return switch (t) {
            case ApiError.ApiException a -> a.error();
            case BatchEndpoints.BatchApiException b -> b.error();
            case GenerationException.ContextLengthExceeded c -> new ApiError(400, ApiError.INVALID_REQUEST,
                    "context_length_exceeded", fieldNames.apply(c.field()), c.getMessage(), null);
            case GenerationException.ModelNotFound m -> new ApiError(404, ApiError.INVALID_REQUEST, "model_not_found",
                    "model", m.getMessage(), null);
            case GenerationException.InvalidRequest r -> ApiError.invalid(fieldNames.apply(r.field()), r.getMessage());
            case GenerationException.Overloaded o -> new ApiError(429, "rate_limit_exceeded", "rate_limit_exceeded", null,
                    o.getMessage(), o.retryAfter());
            case GenerationException.Unavailable u -> new ApiError(503, "service_unavailable", "service_unavailable", null,
                    u.getMessage(), UNAVAILABLE_RETRY_AFTER);
            case GenerationException.Cancelled c -> new ApiError(499, ApiError.INVALID_REQUEST, "cancelled", null,
                    c.getMessage(), null);
            case GenerationException.DeadlineExceeded d -> new ApiError(408, ApiError.INVALID_REQUEST, "deadline_exceeded",
                    null, d.getMessage(), null);
            case GenerationException.ConsumerTooSlow s -> new ApiError(408, ApiError.INVALID_REQUEST, "consumer_too_slow",
                    null, s.getMessage(), null);
            case GenerationException.Failed f -> new ApiError(500, "server_error", "internal_error", null, f.getMessage(), null);
            case JsonException j -> new ApiError(400, ApiError.INVALID_REQUEST, "invalid_json", null,
                    "the body is not valid JSON: " + j.getMessage(), null);
            default -> new ApiError(500, "server_error", "internal_error", null,
                    "internal error: " + t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage()), null);
        };
    }

    static ApiError of(Throwable t) {
        return of(t, UnaryOperator.identity());
    }

    /** The answer for a status Vert.x chose itself (no route, wrong method, body over the limit). */
    static ApiError status(int status, String path, long bodyLimit) {
        return switch (status) {
            case 404 -> new ApiError(404, ApiError.INVALID_REQUEST, "not_found", null, "no such endpoint: " + path, null);
            case 405 -> new ApiError(405, ApiError.INVALID_REQUEST, "method_not_allowed", null,
                    "this method is not allowed on " + path, null);
            case 413 -> new ApiError(413, ApiError.INVALID_REQUEST, "request_too_large", null,
                    "the request body is over the limit of " + bodyLimit + " bytes (http-max-body-bytes)", null);
            case 400 -> new ApiError(400, ApiError.INVALID_REQUEST, "invalid_request", null, "malformed request", null);
            default -> new ApiError(status, status >= 500 ? "server_error" : ApiError.INVALID_REQUEST, "http_" + status,
                    null, "HTTP " + status + " on " + path, null);
        };
    }

    static ApiError missingKey() {
        return new ApiError(401, ApiError.INVALID_REQUEST, "missing_api_key", null,
                "this server needs an API key: send \"Authorization: Bearer <key>\"", null);
    }

    static ApiError wrongKey() {
        return new ApiError(401, ApiError.INVALID_REQUEST, "invalid_api_key", null, "the API key is not valid", null);
    }

    private OpenAiErrors() {
    }
}
