package dev.shardline.model.chat;

import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds QwQ's (Hermes-style) tool calls, {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>}, in the
 * answer text of a generation while it streams, and turns them into events an OpenAI front end sends as
 * {@code tool_calls} deltas: first a call's index, id and name, then its arguments in fragments. Feed it the answer
 * only (never the reasoning): {@link ReasoningParser} splits them first.
 *
 * <p>Rules, the same for any way of cutting the text into pieces, except where marked:
 * <ul>
 *   <li>Text outside calls is content. Whitespace at the end of content is held back until more content follows;
 *       whitespace before a call, between calls and after the last call is dropped, and at the end it is content
 *       only if no call was found. A possible tag prefix ({@code "<tool_c"}) is held back until it is decided.</li>
 *   <li>A call streams as soon as its body begins with {@code {"name": "N"}: a {@link CallStart} with a fresh id;
 *       once {@code , "arguments": } follows, the characters of the arguments value stream as
 *       {@link CallArguments} up to the value's end (a small JSON scanner finds it), so the fragments concatenate
 *       to the arguments' JSON text exactly as the model wrote it.</li>
 *   <li>A body in another shape (keys in another order, say) is decided at {@code </tool_call>}: valid JSON with a
 *       string {@code name} is a call (arguments written as compact JSON, {@code {}} when absent); anything else
 *       is content, tags included, as vLLM's Hermes parser does.</li>
 *   <li>Chunking-dependent, by necessity: a call whose name already streamed stays a call even if its body turns
 *       out to be malformed or is cut off (generation hit its token limit): the client has its name and the
 *       arguments seen so far. An unclosed call that had not started is content.</li>
 *   <li>With {@code maxCalls} reached (1 for {@code parallel_tool_calls: false}), further calls are dropped.</li>
 * </ul>
 * Not thread-safe; one instance per generated sequence.
 */
public final class ToolCallParser {
    public static final String OPEN = "<tool_call>";
    public static final String CLOSE = "</tool_call>";
    private static final Pattern NAME = Pattern.compile("^\\s*\\{\\s*\"name\"\\s*:\\s*(\"(?:[^\"\\\\]|\\\\.)*\")");
    private static final Pattern ARGUMENTS_KEY = Pattern.compile("^\\s*,\\s*\"arguments\"\\s*:\\s*(?=\\S)");

    /** What one piece of text produced, in order. */
    public sealed interface Event permits Content, CallStart, CallArguments {
    }

    /** Text outside tool calls. */
    public record Content(String text) implements Event {
    }

    /** A call begins: its index among this generation's calls (0, 1, ...), its id and the function's name. */
    public record CallStart(int index, String id, String name) implements Event {
    }

    /** The next piece of a call's arguments (JSON text). */
    public record CallArguments(int index, String fragment) implements Event {
    }

    /** A whole call, for answers given at the end. */
    public record Call(String id, String name, String arguments) {
    }

    /** A whole answer parsed: its content (tool calls removed) and the calls. */
    public record Parsed(String content, List<Call> calls) {
    }

    private enum Phase { NAME, ARGUMENTS_KEY, ARGUMENTS, AFTER_ARGUMENTS }

    private final Supplier<String> ids;
    private final int maxCalls;
    private String held = "";                 // text outside calls: a possible OPEN prefix
    private String whitespace = "";           // trailing whitespace of content, not yet emitted
    private boolean inCall;
    private final StringBuilder body = new StringBuilder();
    private int scanned;                      // chars of body the call's analysis consumed
    private Phase phase;
    private boolean started;                  // this call's CallStart went out
    private boolean argumentsStreamed;
    private final ValueScanner value = new ValueScanner();
    private int calls;                        // calls started (including dropped ones past maxCalls)
    private int emittedCalls;

    /**
     * @param ids      makes each call's id (e.g. {@code call_} + random characters)
     * @param maxCalls calls to report at most; later ones are dropped
     */
    public ToolCallParser(Supplier<String> ids, int maxCalls) {
        this.ids = ids;
        this.maxCalls = maxCalls;
    }

    /** Calls reported so far. */
    public int calls() {
        return emittedCalls;
    }

    /** The events the next piece of answer text makes. */
    public List<Event> push(String text) {
        List<Event> out = new ArrayList<>();
        if (text.isEmpty()) return out;
        String rest = text;
        while (!rest.isEmpty()) {
            rest = inCall ? pushCall(rest, out) : pushText(rest, out);
        }
        return out;
    }

    /** Ends the text: releases what was held back. */
    public List<Event> finish() {
        List<Event> out = new ArrayList<>();
        if (inCall) {
            if (!started) content(OPEN + body, out);
            inCall = false;
        } else if (!held.isEmpty()) {
            content(held, out);
            held = "";
        }
        if (!whitespace.isEmpty() && emittedCalls == 0) out.add(new Content(whitespace));
        whitespace = "";
        return out;
    }

    /** The one-shot form: push(all) + finish(), collected. */
    public static Parsed parse(String answer, Supplier<String> ids, int maxCalls) {
        ToolCallParser p = new ToolCallParser(ids, maxCalls);
        List<Event> events = new ArrayList<>(p.push(answer));
        events.addAll(p.finish());
        return collect(events);
    }

    /** Content and whole calls from a stream of events. */
    public static Parsed collect(List<Event> events) {
        StringBuilder content = new StringBuilder();
        List<String[]> calls = new ArrayList<>();
        for (Event e : events) {
            switch (e) {
                case Content c -> content.append(c.text());
                case CallStart s -> calls.add(new String[]{s.id(), s.name(), ""});
                case CallArguments a -> calls.get(a.index())[2] += a.fragment();
            }
        }
        return new Parsed(content.toString(), calls.stream().map(c -> new Call(c[0], c[1], c[2])).toList());
    }

    // ---- outside calls ----

    private String pushText(String text, List<Event> out) {
        String t = held + text;
        held = "";
        int open = t.indexOf(OPEN);
        if (open >= 0) {
            String before = t.substring(0, open);
            if (!before.isBlank()) content(before, out);
            whitespace = "";                                 // whitespace before a call is dropped
            inCall = true;
            body.setLength(0);
            scanned = 0;
            phase = Phase.NAME;
            started = false;
            argumentsStreamed = false;
            value.reset();
            return t.substring(open + OPEN.length());
        }
        int keep = ReasoningParser.partialSuffix(t, OPEN);
        held = t.substring(t.length() - keep);
        content(t.substring(0, t.length() - keep), out);
        return "";
    }

    /** Emits content, holding back its trailing whitespace (whitespace alone only grows what is held). */
    private void content(String text, List<Event> out) {
        if (text.isEmpty()) return;
        int end = text.length();
        while (end > 0 && Character.isWhitespace(text.charAt(end - 1))) end--;
        if (end == 0) {
            whitespace += text;
            return;
        }
        out.add(new Content(whitespace + text.substring(0, end)));
        whitespace = text.substring(end);
    }

    // ---- inside a call ----

    private String pushCall(String text, List<Event> out) {
        int from = Math.max(0, body.length() - (CLOSE.length() - 1));
        body.append(text);
        int close = body.indexOf(CLOSE, from);
        String rest = "";
        int visible;
        if (close >= 0) {
            rest = body.substring(close + CLOSE.length());
            body.setLength(close);
            visible = close;
        } else {
            visible = body.length() - ReasoningParser.partialSuffix(body.toString(), CLOSE);
        }
        analyse(visible, out);
        if (close >= 0) {
            endCall(out);
            inCall = false;
        }
        return rest;
    }

    /** Streams what the visible part of the body decides: the name, then the arguments' characters. */
    private void analyse(int visible, List<Event> out) {
        String b = body.substring(0, visible);
        while (scanned < visible) {
            switch (phase) {
                case NAME -> {
                    Matcher m = NAME.matcher(b);
                    if (!m.find()) return;
                    String name;
                    try {
                        name = (String) Json.parse(m.group(1));
                    } catch (JsonException e) {
                        return;
                    }
                    start(name, out);
                    scanned = m.end();
                    phase = Phase.ARGUMENTS_KEY;
                }
                case ARGUMENTS_KEY -> {
                    Matcher m = ARGUMENTS_KEY.matcher(b.substring(scanned));
                    if (!m.find()) return;
                    scanned += m.end();
                    phase = Phase.ARGUMENTS;
                }
                case ARGUMENTS -> {
                    int end = value.scan(b, scanned, visible);
                    String piece = b.substring(scanned, end);
                    scanned = end;
                    if (!piece.isEmpty()) {
                        argumentsStreamed = true;
                        arguments(piece, out);
                    }
                    if (value.done()) phase = Phase.AFTER_ARGUMENTS;
                    else return;
                }
                case AFTER_ARGUMENTS -> scanned = visible;
            }
        }
    }

    /** At {@code </tool_call>}: a call that did not stream is decided from its whole body. */
    private void endCall(List<Event> out) {
        String b = body.toString();
        Map<String, Object> call = null;
        try {
            if (Json.parse(b) instanceof Map<?, ?> m && m.get("name") instanceof String) {
                @SuppressWarnings("unchecked") Map<String, Object> typed = (Map<String, Object>) m;
                call = typed;
            }
        } catch (JsonException e) {
            call = null;
        }
        if (!started) {
            if (call == null) {
                content(OPEN + b + CLOSE, out);
                return;
            }
            start((String) call.get("name"), out);
        }
        if (!argumentsStreamed && call != null) {
            Object args = call.containsKey("arguments") ? call.get("arguments") : Map.of();
            arguments(Json.write(args), out);
        }
    }

    private void start(String name, List<Event> out) {
        started = true;
        int index = calls++;
        if (index < maxCalls) {
            emittedCalls++;
            out.add(new CallStart(index, ids.get(), name));
        }
    }

    private void arguments(String piece, List<Event> out) {
        int index = calls - 1;
        if (index < maxCalls) out.add(new CallArguments(index, piece));
    }

    /** Finds where one JSON value ends, fed a piece at a time. */
    static final class ValueScanner {
        private int depth;
        private boolean begun;
        private boolean inString;
        private boolean escape;
        private boolean primitive;
        private boolean done;

        void reset() {
            depth = 0;
            begun = inString = escape = primitive = done = false;
        }

        boolean done() {
            return done;
        }

        /** Consumes text[from, to) up to the value's end; returns the index after its last character. */
        int scan(String text, int from, int to) {
            int i = from;
            for (; i < to && !done; i++) {
                char c = text.charAt(i);
                if (!begun) {
                    begun = true;
                    if (c == '{' || c == '[') depth = 1;
                    else if (c == '"') inString = true;
                    else primitive = true;
                    continue;
                }
                if (primitive) {
                    if (c == ',' || c == '}' || c == ']' || Character.isWhitespace(c)) {
                        done = true;
                        return i;
                    }
                    continue;
                }
                if (inString) {
                    if (escape) escape = false;
                    else if (c == '\\') escape = true;
                    else if (c == '"') {
                        inString = false;
                        if (depth == 0) done = true;
                    }
                    continue;
                }
                if (c == '"') inString = true;
                else if (c == '{' || c == '[') depth++;
                else if (c == '}' || c == ']') {
                    if (--depth == 0) done = true;
                }
            }
            return i;
        }
    }
}
