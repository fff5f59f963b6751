package dev.shardline.coordinator.requestlog;

import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.GenerationHandle;
import dev.shardline.coordinator.generation.GenerationObserver;
import dev.shardline.coordinator.generation.GenerationRequest;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * The access log: one JSON line per finished request, whatever front end submitted it, with who asked (the API
 * key's tenant and the client's own end user), what it cost (tokens, migrations) and how long it took. On with the
 * coordinator's {@code request-log} key. Lines never hold prompt or output text.
 */
public final class RequestLog implements GenerationObserver {
    private final Consumer<String> out;

    public RequestLog(Consumer<String> out) {
        this.out = out;
    }

    @Override
    public void onCompleted(GenerationHandle h, Completion c) {
        out.accept(line(h, c.finishReason().name().toLowerCase(Locale.ROOT), c.usage().completionTokens(),
                String.format(Locale.ROOT, ",\"queue_ms\":%.1f,\"ttft_ms\":%.1f,\"total_ms\":%.1f", c.timings().queueMs(),
                        c.timings().timeToFirstTokenMs(), c.timings().totalMs())));
    }

    @Override
    public void onFailed(GenerationHandle h, GenerationException error, int generatedTokens) {
        out.accept(line(h, "error", generatedTokens, ",\"error\":" + quote(error.getClass().getSimpleName() + ": "
                + error.getMessage())));
    }

    private static String line(GenerationHandle h, String finish, int completionTokens, String rest) {
        GenerationRequest r = h.submitted();
        return "request {\"id\":" + h.id() + ",\"request_id\":" + quote(r.requestId()) + ",\"tenant\":" + quote(r.tenant())
                + ",\"user\":" + quote(r.endUser()) + ",\"priority\":\"" + r.priorityClass().name().toLowerCase(Locale.ROOT)
                + "\",\"prompt_tokens\":" + h.promptTokens() + ",\"completion_tokens\":" + completionTokens
                + ",\"finish\":\"" + finish + "\",\"migrations\":" + h.migrations().size() + rest + "}";
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
