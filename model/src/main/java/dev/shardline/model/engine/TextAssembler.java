package dev.shardline.model.engine;

import dev.shardline.model.chat.ReasoningParser;
import dev.shardline.model.sampling.StopChecker;
import dev.shardline.model.tokenizer.StreamingDecoder;
import dev.shardline.model.tokenizer.Tokenizer;

import java.util.List;

/**
 * Turns one sequence's generated token ids into streamed text: decodes without splitting UTF-8 characters, leaves
 * special tokens out, cuts at the first stop string (which is not emitted) and, for a reasoning model in chat mode,
 * splits reasoning from answer. Used by the single-process generator and by the coordinator's API streams alike.
 */
public final class TextAssembler {
    private final Tokenizer tokenizer;
    private final StreamingDecoder decoder;
    private final StopChecker stops;
    private final ReasoningParser reasoning;
    private final StringBuilder text = new StringBuilder();
    private final StringBuilder reasoningText = new StringBuilder();
    private final StringBuilder answerText = new StringBuilder();
    private boolean finished;
    private String stopString = "";

    /** {@code chatReasoning}: generation starts inside {@code <think>} (the QwQ template opened it). */
    public TextAssembler(Tokenizer tokenizer, List<String> stopStrings, boolean chatReasoning) {
        this.tokenizer = tokenizer;
        this.decoder = tokenizer.newStreamingDecoder();
        this.stops = new StopChecker(stopStrings);
        this.reasoning = chatReasoning ? new ReasoningParser(true) : null;
    }

    /** The text this token completes (possibly empty). */
    public TextDelta push(int tokenId) {
        if (finished || stops.stopped() || tokenizer.isSpecial(tokenId)) {
            return new TextDelta("", "");
        }
        return route(check(stops.push(decoder.push(tokenId))));
    }

    private String check(StopChecker.Result r) {
        if (r.stopped()) {
            stopString = r.stop();
        }
        return r.text();
    }

    /** In chat-reasoning mode, whether the reasoning block has ended (the answer has begun); false otherwise. */
    public boolean inAnswer() {
        return reasoning != null && reasoning.inAnswer();
    }

    /** True once a stop string has been seen: the sequence should end. */
    public boolean stopped() {
        return stops.stopped();
    }

    /** Flushes held-back bytes and partial stop-string matches; call once when the sequence ends. */
    public TextDelta finish() {
        if (finished) {
            return new TextDelta("", "");
        }
        finished = true;
        StringBuilder r = new StringBuilder();
        StringBuilder a = new StringBuilder();
        if (!stops.stopped()) {
            append(route(check(stops.push(decoder.flush()))), r, a);
            append(route(stops.finish()), r, a);
        }
        if (reasoning != null) {
            ReasoningParser.Delta d = reasoning.finish();
            record(d.reasoning(), d.answer());
            r.append(d.reasoning());
            a.append(d.answer());
        }
        return new TextDelta(r.toString(), a.toString());
    }

    public String text() {
        return text.toString();
    }

    /** Null unless in chat-reasoning mode. */
    public String reasoning() {
        return reasoning == null ? null : reasoningText.toString();
    }

    public String answer() {
        return reasoning == null ? null : answerText.toString();
    }

    /** The stop string that ended the text, or "". */
    public String matchedStop() {
        return stopString;
    }

    private TextDelta route(String piece) {
        if (piece.isEmpty()) {
            return new TextDelta("", "");
        }
        text.append(piece);
        if (reasoning == null) {
            answerText.append(piece);
            return new TextDelta("", piece);
        }
        ReasoningParser.Delta d = reasoning.push(piece);
        record(d.reasoning(), d.answer());
        return new TextDelta(d.reasoning(), d.answer());
    }

    private void record(String r, String a) {
        reasoningText.append(r);
        answerText.append(a);
    }

    private static void append(TextDelta d, StringBuilder r, StringBuilder a) {
        r.append(d.reasoning());
        a.append(d.answer());
    }
}
