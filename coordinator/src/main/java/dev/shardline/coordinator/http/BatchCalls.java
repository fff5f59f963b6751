package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.coordinator.generation.ServedModel;
import dev.shardline.coordinator.generation.TokenSink;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;

/**
 * The HTTP API's body reading and answers for batch lines: a line's {@code url} and {@code body} become the same
 * generation request {@code POST url} would, and its result body is byte for byte what the endpoint would answer
 * (non-streaming), with the same errors. The batch adapter only adds the line's envelope.
 */
public final class BatchCalls {
    public static final String CHAT = "/v1/chat/completions";
    public static final String COMPLETIONS = "/v1/completions";

    /** An answer: its HTTP status and JSON body. */
    public record Answer(int status, String body) {
        public boolean ok() {
            return status == 200;
        }
    }

    /** A line read: the request to submit, the sink that captures its answer, and the answer when it is there. */
    public static final class Call {
        private final GenerationRequest request;
        private final TokenSink sink;
        private final CompletableFuture<Answer> answer;
        private final UnaryOperator<String> fieldNames;

        private Call(GenerationRequest request, TokenSink sink, CompletableFuture<Answer> answer,
                     UnaryOperator<String> fieldNames) {
            this.request = request;
            this.sink = sink;
            this.answer = answer;
            this.fieldNames = fieldNames;
        }

        public GenerationRequest request() {
            return request;
        }

        public TokenSink sink() {
            return sink;
        }

        /** Completes once, with the endpoint's answer (200 and the body, or the error's status and body). */
        public CompletableFuture<Answer> answer() {
            return answer;
        }

        /** The answer for a submission the service refused (validation), with this endpoint's field names. */
        public Answer refused(RuntimeException e) {
            return BatchCalls.error(OpenAiErrors.of(e, fieldNames));
        }
    }

    private final ServedModel model;
    private final IntFunction<String> tokenText;

    public BatchCalls(ServedModel model) {
        this.model = model;
        this.tokenText = Shapes.tokenText(model.tokenizer());
    }

    /**
     * Reads one line's body as {@code POST url} would.
     *
     * @param id the answer's id ({@code chatcmpl-...} / {@code cmpl-...} on HTTP)
     * @throws Refused with the endpoint's error answer when the body is invalid
     */
    public Call read(String url, Map<String, Object> body, String tenant, String id, long created) {
        try {
            Body b = new Body(body, "");
            if (b.optBool("stream", false)) {
                throw ApiError.unsupported("stream", "batch requests cannot stream; leave stream out").exception();
            }
            CompletableFuture<Answer> answer = new CompletableFuture<>();
            Captured out = new Captured(answer);
            return switch (url) {
                case CHAT -> {
                    ChatRequests.ChatCall call = ChatRequests.read(b, tenant, id);
                    yield new Call(call.request(), new ChatResponder(call, out, id, created, model.id(), tokenText), answer,
                            call.fieldNames());
                }
                case COMPLETIONS -> {
                    CompletionRequests.CompletionCall call = CompletionRequests.read(b, tenant, id,
                            ids -> model.tokenizer().decode(ids));
                    yield new Call(call.request(), new CompletionResponder(call, out, id, created, model.id(), tokenText),
                            answer, call.fieldNames());
                }
                default -> throw new ApiError(400, ApiError.INVALID_REQUEST, "invalid_url", "url", "url: \"" + url
                        + "\" is not a batch endpoint (use " + CHAT + " or " + COMPLETIONS + ")", null).exception();
            };
        } catch (RuntimeException e) {
            throw new Refused(error(OpenAiErrors.of(e)));
        }
    }

    /** An error answer with a given status, type, code and message (for the batch adapter's own refusals). */
    public static Answer error(int status, String code, String param, String message) {
        return error(new ApiError(status, ApiError.INVALID_REQUEST, code, param, message, null));
    }

    private static Answer error(ApiError e) {
        return new Answer(e.status(), e.json());
    }

    /** A line the endpoint refuses, with its answer. */
    public static final class Refused extends RuntimeException {
        private final Answer answer;

        Refused(Answer answer) {
            super(answer.body());
            this.answer = answer;
        }

        public Answer answer() {
            return answer;
        }
    }

    /** The endpoint's non-streaming answer, captured. */
    private record Captured(CompletableFuture<Answer> answer) implements AnswerChannel {
        @Override
        public void write(String chunk) {
            throw new IllegalStateException("a batch answer does not stream");
        }

        @Override
        public void end(int status, String contentType, String body) {
            answer.complete(new Answer(status, body));
        }

        @Override
        public void fail(ApiError e) {
            answer.complete(error(e));
        }
    }

}
