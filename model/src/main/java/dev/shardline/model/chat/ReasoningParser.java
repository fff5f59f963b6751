package dev.shardline.model.chat;

/**
 * Splits QwQ's generated text into reasoning (the thinking block) and answer, while streaming.
 *
 * <p>Rules (the streaming {@link #push}/{@link #finish} and the one-shot {@link #parse} give the same result for any
 * way of cutting the text into deltas):
 * <ul>
 *   <li>With {@code startsInReasoning} (the prompt ended with {@code <think>\n}, the QwQ default) the text is
 *       reasoning until the first {@code </think>}. Without it, the text is answer, unless it begins with
 *       {@code <think>}, which opens reasoning.</li>
 *   <li>A {@code <think>} at the very start of the generated text is dropped in both modes (the model sometimes
 *       re-emits it). Tags anywhere else are left as text, and after the first {@code </think>} everything is answer,
 *       including further tags.</li>
 *   <li>The {@code </think>} tag itself is not emitted. Newlines right after it are dropped from the start of the
 *       answer (QwQ writes {@code </think>\n\n}); this is the same {@code lstrip('\n')} the chat template applies to
 *       history, so the answer is exactly what goes back into the conversation. vLLM's reasoning parsers return the
 *       answer with those newlines; clients see the difference only as leading blank lines. The reasoning is kept
 *       verbatim (QwQ's usually ends with "\n").</li>
 *   <li>No {@code </think>} at all (generation cut off while thinking): everything is reasoning.</li>
 * </ul>
 * A possible tag prefix at the end of a delta (e.g. {@code "</thi"}) is held back until the next delta or
 * {@link #finish()}. Not thread-safe; one instance per generated sequence.
 */
public final class ReasoningParser {
    public static final String THINK_START = "<think>";
    public static final String THINK_END = "</think>";

    /** Text to emit for one push: either part may be empty, never null. */
    public record Delta(String reasoning, String answer) {
        public static final Delta EMPTY = new Delta("", "");

        public boolean isEmpty() {
            return reasoning.isEmpty() && answer.isEmpty();
        }
    }

    /** The whole text split; {@code reasoningEnded} tells whether {@code </think>} was seen. */
    public record Parsed(String reasoning, String answer, boolean reasoningEnded) {
    }

    private enum State { START, REASONING, ANSWER_START, ANSWER }

    private final boolean startsInReasoning;
    private State state = State.START;
    private String held = ""; // text not yet classified: a possible tag prefix

    public ReasoningParser(boolean startsInReasoning) {
        this.startsInReasoning = startsInReasoning;
    }

    /** True once {@code </think>} has been seen (or the text turned out to have no reasoning). */
    public boolean inAnswer() {
        return state == State.ANSWER || state == State.ANSWER_START;
    }

    /** Consumes the next piece of generated text. */
    public Delta push(String textDelta) {
        if (textDelta.isEmpty()) {
            return Delta.EMPTY;
        }
        String text = held + textDelta;
        held = "";
        StringBuilder reasoning = new StringBuilder();
        StringBuilder answer = new StringBuilder();
        while (!text.isEmpty()) {
            switch (state) {
                case START -> {
                    if (text.startsWith(THINK_START)) {
                        text = text.substring(THINK_START.length());
                        state = State.REASONING;
                    } else if (THINK_START.startsWith(text)) {
                        held = text; // could still become "<think>"
                        text = "";
                    } else {
                        state = startsInReasoning ? State.REASONING : State.ANSWER;
                    }
                }
                case REASONING -> {
                    int end = text.indexOf(THINK_END);
                    if (end >= 0) {
                        reasoning.append(text, 0, end);
                        text = text.substring(end + THINK_END.length());
                        state = State.ANSWER_START;
                    } else {
                        int keep = partialSuffix(text, THINK_END);
                        reasoning.append(text, 0, text.length() - keep);
                        held = text.substring(text.length() - keep);
                        text = "";
                    }
                }
                case ANSWER_START -> {
                    int start = 0;
                    while (start < text.length() && text.charAt(start) == '\n') {
                        start++;
                    }
                    text = text.substring(start);
                    if (!text.isEmpty()) {
                        state = State.ANSWER;
                    }
                }
                case ANSWER -> {
                    answer.append(text);
                    text = "";
                }
            }
        }
        return delta(reasoning, answer);
    }

    /** Ends the stream: releases held-back text (a partial tag is plain text after all). */
    public Delta finish() {
        String text = held;
        held = "";
        if (text.isEmpty()) {
            return Delta.EMPTY;
        }
        return switch (state) {
            case START -> startsInReasoning ? new Delta(text, "") : new Delta("", text);
            case REASONING -> new Delta(text, "");
            case ANSWER_START, ANSWER -> new Delta("", text);
        };
    }

    /** The one-shot form of push(fullText) + finish(). */
    public static Parsed parse(String fullText, boolean startsInReasoning) {
        String text = fullText;
        boolean reasoning = startsInReasoning;
        if (text.startsWith(THINK_START)) {
            text = text.substring(THINK_START.length());
            reasoning = true;
        }
        if (!reasoning) {
            return new Parsed("", text, false);
        }
        int end = text.indexOf(THINK_END);
        if (end < 0) {
            return new Parsed(text, "", false);
        }
        String answer = text.substring(end + THINK_END.length());
        int start = 0;
        while (start < answer.length() && answer.charAt(start) == '\n') {
            start++;
        }
        return new Parsed(text.substring(0, end), answer.substring(start), true);
    }

    /** Length of the longest proper prefix of tag that text ends with. */
    static int partialSuffix(String text, String tag) {
        for (int len = Math.min(tag.length() - 1, text.length()); len > 0; len--) {
            if (text.regionMatches(text.length() - len, tag, 0, len)) {
                return len;
            }
        }
        return 0;
    }

    private static Delta delta(StringBuilder reasoning, StringBuilder answer) {
        if (reasoning.isEmpty() && answer.isEmpty()) {
            return Delta.EMPTY;
        }
        return new Delta(reasoning.toString(), answer.toString());
    }
}
