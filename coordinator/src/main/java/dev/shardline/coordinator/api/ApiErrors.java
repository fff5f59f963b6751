package dev.shardline.coordinator.api;

import dev.shardline.coordinator.schedule.InvalidRequestException;
import dev.shardline.model.chat.ChatTemplateException;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.sampling.InvalidSamplingException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Maps the typed exceptions behind the client API to gRPC statuses, once for every method. */
final class ApiErrors {
    static StatusRuntimeException toStatus(Throwable e) {
        if (e instanceof StatusRuntimeException s) {
            return s;
        }
        Status status = switch (e) {
            case InvalidRequestException r -> Status.INVALID_ARGUMENT.withDescription(r.getMessage());
            case InvalidSamplingException s -> Status.INVALID_ARGUMENT.withDescription("sampling." + s.field() + ": " + s.getMessage());
            case ChatTemplateException c -> Status.INVALID_ARGUMENT.withDescription("messages: " + c.getMessage());
            case JsonException j -> Status.INVALID_ARGUMENT.withDescription(j.getMessage());
            case IllegalArgumentException i -> Status.INVALID_ARGUMENT.withDescription(i.getMessage());
            case IllegalStateException s -> Status.UNAVAILABLE.withDescription(s.getMessage());
            default -> Status.INTERNAL.withDescription(e.getClass().getSimpleName() + ": " + e.getMessage());
        };
        return status.withCause(e).asRuntimeException();
    }

    static StatusRuntimeException invalid(String field, String message) {
        return Status.INVALID_ARGUMENT.withDescription(field + ": " + message).asRuntimeException();
    }

    private ApiErrors() {
    }
}
