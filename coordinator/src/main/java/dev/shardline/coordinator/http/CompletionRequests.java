package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.coordinator.generation.Prompt;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Reads a {@code POST /v1/completions} body: the prompt as text or token ids (one prompt: a list of several is a
 * 400, as n > 1 is), {@code echo}, {@code logprobs} (an integer: the alternatives per token, 0 for the sampled
 * token's only) and the shared fields. The text is generated as it is, without a chat template or reasoning split.
 */
final class CompletionRequests {
    static final Set<String> KEYS;

    static {
        Set<String> k = new HashSet<>(CommonFields.KEYS);
        k.addAll(Set.of("prompt", "echo", "logprobs"));
        KEYS = Set.copyOf(k);
    }

    /** A completion request read; {@code echoText} is the prompt's text when echo is on, else null. */
    record CompletionCall(GenerationRequest request, CommonFields.Streaming streaming, String echoText, boolean logprobs,
                          UnaryOperator<String> fieldNames) {
    }

    /** {@code decode}: token ids to text (for echo of a token prompt). */
    static CompletionCall read(Body body, String tenant, String requestId, java.util.function.Function<int[], String> decode) {
        body.allowOnly(KEYS, CommonFields.UNSUPPORTED);
        Prompt prompt = prompt(body);
        Integer logprobs = body.optInt("logprobs");
        GenerationRequest.Builder b = GenerationRequest.builder(prompt).tenant(tenant).requestId(requestId)
                .logprobs(logprobs != null, logprobs == null ? 0 : logprobs);
        CommonFields.Streaming streaming = CommonFields.read(body, b, CommonFields.maxTokens(body, false));
        String echo = null;
        if (body.optBool("echo", false)) {
            echo = switch (prompt) {
                case Prompt.Text t -> t.text();
                case Prompt.Tokens t -> decode.apply(t.ids());
                case Prompt.Chat c -> throw new IllegalStateException("unreachable");
            };
        }
        return new CompletionCall(b.build(), streaming, echo, logprobs != null, CommonFields.fieldNames(body, "prompt"));
    }

    private static Prompt prompt(Body body) {
        Object p = body.raw("prompt");
        if (p == null) throw ApiError.invalid("prompt", "is required").exception();
        if (p instanceof String s) return new Prompt.Text(s);
        List<Object> l = body.list("prompt");
        if (l.isEmpty()) throw ApiError.invalid("prompt", "is empty").exception();
        Object first = l.getFirst();
        if (first instanceof String || first instanceof List) {
            if (l.size() > 1) {
                throw ApiError.unsupported("prompt", "one prompt per request is supported, got " + l.size()).exception();
            }
            if (first instanceof String s) return new Prompt.Text(s);
            Body wrapper = new Body(java.util.Map.of("prompt", first), "");
            return tokens(wrapper.ids("prompt"));
        }
        return tokens(body.ids("prompt"));
    }

    private static Prompt tokens(List<Integer> ids) {
        return new Prompt.Tokens(ids.stream().mapToInt(Integer::intValue).toArray());
    }

    private CompletionRequests() {
    }
}
