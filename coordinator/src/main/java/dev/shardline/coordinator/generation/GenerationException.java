package dev.shardline.coordinator.generation;

import java.time.Duration;

/**
 * Every way a request can fail, as domain errors. Each front end maps them once: gRPC status codes, HTTP statuses
 * with OpenAI error bodies, Kafka error lines.
 */
public abstract sealed class GenerationException extends RuntimeException {

    GenerationException(String message) {
        super(message);
    }

    /** The request is malformed or out of range; {@link #field()} names the field (OpenAI's names, e.g. top_p). */
    public static sealed class InvalidRequest extends GenerationException {
        private final String field;

        public InvalidRequest(String field, String message) {
            super(message);
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /** The prompt, or prompt + max_tokens, does not fit the model's context or a pipeline's KV cache. */
    public static final class ContextLengthExceeded extends InvalidRequest {
        public ContextLengthExceeded(String field, String message) {
            super(field, message);
        }
    }

    /** The request names a model this cluster does not serve. */
    public static final class ModelNotFound extends InvalidRequest {
        public ModelNotFound(String message) {
            super("model", message);
        }
    }

    /** Too many requests wait already; retry after {@link #retryAfter()}. */
    public static final class Overloaded extends GenerationException {
        private final Duration retryAfter;

        public Overloaded(String message, Duration retryAfter) {
            super(message);
            this.retryAfter = retryAfter;
        }

        public Duration retryAfter() {
            return retryAfter;
        }
    }

    /** No pipeline could serve the request in time; the message names the cause. Retrying later may work. */
    public static final class Unavailable extends GenerationException {
        public Unavailable(String message) {
            super(message);
        }
    }

    /** The client cancelled the request (or went away). */
    public static final class Cancelled extends GenerationException {
        public Cancelled(String message) {
            super(message);
        }
    }

    /** The request's deadline passed before it finished. */
    public static final class DeadlineExceeded extends GenerationException {
        public DeadlineExceeded(String message) {
            super(message);
        }
    }

    /** The consumer fell behind the generation by more than the request's buffer; generation stopped. */
    public static final class ConsumerTooSlow extends GenerationException {
        public ConsumerTooSlow(String message) {
            super(message);
        }
    }

    /** A stage could not run a micro-batch of the request (an internal error; the message says which stage). */
    public static final class Failed extends GenerationException {
        public Failed(String message) {
            super(message);
        }
    }
}
