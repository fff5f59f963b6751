package dev.shardline.coordinator.grpc.api;

import dev.shardline.coordinator.generation.GenerationException;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.util.Set;

/** Maps the generation service's domain errors to gRPC statuses, once for every method. */
final class GrpcErrors {
    /** Request fields that live inside {@code SamplingParams} in shardline.v1 (error messages name their path). */
    private static final Set<String> SAMPLING_FIELDS = Set.of("temperature", "top_p", "top_k", "min_p",
            "presence_penalty", "frequency_penalty", "repetition_penalty", "seed", "max_tokens", "stop",
            "stop_token_ids", "ignore_eos", "top_logprobs", "logit_bias", "forced_token_ids");

    /** Trailer that carries an overloaded answer's retry delay, in milliseconds. */
    static final Metadata.Key<String> RETRY_AFTER_MS = Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);

    static StatusRuntimeException toStatus(GenerationException e) {
        return switch (e) {
            case GenerationException.InvalidRequest r -> Status.INVALID_ARGUMENT
                    .withDescription(fieldPath(r.field()) + ": " + r.getMessage()).asRuntimeException();
            case GenerationException.Overloaded o -> {
                Metadata trailers = new Metadata();
                trailers.put(RETRY_AFTER_MS, Long.toString(o.retryAfter().toMillis()));
                yield Status.RESOURCE_EXHAUSTED.withDescription(o.getMessage()).asRuntimeException(trailers);
            }
            case GenerationException.Unavailable u -> Status.UNAVAILABLE.withDescription(u.getMessage()).asRuntimeException();
            case GenerationException.Cancelled c -> Status.CANCELLED.withDescription(c.getMessage()).asRuntimeException();
            case GenerationException.DeadlineExceeded d -> Status.DEADLINE_EXCEEDED.withDescription(d.getMessage()).asRuntimeException();
            case GenerationException.ConsumerTooSlow s -> Status.RESOURCE_EXHAUSTED.withDescription(s.getMessage()).asRuntimeException();
            case GenerationException.Failed f -> Status.INTERNAL.withDescription(f.getMessage()).asRuntimeException();
        };
    }

    static String fieldPath(String field) {
        if (field.startsWith("prompt[")) return "prompt_token_ids" + field.substring("prompt".length());
        return SAMPLING_FIELDS.contains(field) ? "sampling." + field : field;
    }

    static StatusRuntimeException invalid(String field, String message) {
        return Status.INVALID_ARGUMENT.withDescription(field + ": " + message).asRuntimeException();
    }

    private GrpcErrors() {
    }
}
