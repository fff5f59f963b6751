package dev.shardline.coordinator.http;

import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationDelta;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.TokenSink;
import dev.shardline.model.json.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A text completion's answer, as a {@link TokenSink}: {@code text_completion} chunks (the echoed prompt first when
 * asked for), a last chunk with the finish reason, usage when asked for and {@code [DONE]}; or one
 * {@code text_completion} object at the end.
 */
final class CompletionResponder implements TokenSink {
    private final CompletionRequests.CompletionCall call;
    private final AnswerChannel out;
    private final String id;
    private final long created;
    private final String model;
    private final IntFunction<String> tokenText;
    private final List<GenerationDelta> deltas = new ArrayList<>();
    private int offset;
    private boolean echoed;

    CompletionResponder(CompletionRequests.CompletionCall call, AnswerChannel out, String id, long created, String model,
                        IntFunction<String> tokenText) {
        this.call = call;
        this.out = out;
        this.id = id;
        this.created = created;
        this.model = model;
        this.tokenText = tokenText;
        this.offset = call.echoText() == null ? 0 : call.echoText().length();
    }

    @Override
    public void onStarted() {
        if (call.streaming().stream()) out.open();
    }

    @Override
    public void onDelta(GenerationDelta d) throws InterruptedException {
        if (!call.streaming().stream()) {
            if (call.logprobs()) deltas.add(d);
            return;
        }
        String text = echo() + d.text();
        Map<String, Object> lp = call.logprobs() ? Shapes.completionLogprobs(List.of(d), tokenText, offset) : null;
        offset += d.text().length();
        boolean ids = call.streaming().returnTokenIds() && !d.tokenIds().isEmpty();
        if (!text.isEmpty() || lp != null || ids) out.write(Shapes.sse(chunk(text, lp, null, d.tokenIds())));
    }

    private String echo() {
        if (echoed || call.echoText() == null) return "";
        echoed = true;
        return call.echoText();
    }

    @Override
    public void onComplete(Completion c) {
        String reason = Shapes.finishReason(c.finishReason(), false);
        if (!call.streaming().stream()) {
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put("text", (call.echoText() == null ? "" : call.echoText()) + c.text());
            choice.put("logprobs", call.logprobs() ? Shapes.completionLogprobs(deltas, tokenText, offset) : null);
            choice.put("finish_reason", reason);
            if (call.streaming().returnTokenIds()) choice.put("token_ids", c.tokenIds());
            Map<String, Object> r = base("text_completion");
            r.put("choices", List.of(choice));
            r.put("usage", Shapes.usage(c, false));
            out.end(200, ResponseChannel.JSON, Json.write(r));
            return;
        }
        StringBuilder sb = new StringBuilder(Shapes.sse(chunk(echo(), null, reason, List.of())));
        if (call.streaming().includeUsage()) {
            Map<String, Object> u = base("text_completion");
            u.put("choices", List.of());
            u.put("usage", Shapes.usage(c, false));
            sb.append(Shapes.sse(u));
        }
        out.end(200, ResponseChannel.SSE, sb.append(Shapes.DONE).toString());
    }

    @Override
    public void onError(GenerationException e) {
        out.fail(OpenAiErrors.of(e, call.fieldNames()));
    }

    private Map<String, Object> chunk(String text, Map<String, Object> logprobs, String finishReason, List<Integer> ids) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("text", text);
        choice.put("logprobs", logprobs);
        choice.put("finish_reason", finishReason);
        if (call.streaming().returnTokenIds()) choice.put("token_ids", ids);
        Map<String, Object> r = base("text_completion");
        r.put("choices", List.of(choice));
        if (call.streaming().includeUsage()) r.put("usage", null);
        return r;
    }

    private Map<String, Object> base(String object) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", id);
        r.put("object", object);
        r.put("created", created);
        r.put("model", model);
        return r;
    }
}
