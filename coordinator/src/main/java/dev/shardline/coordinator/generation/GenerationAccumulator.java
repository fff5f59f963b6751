package dev.shardline.coordinator.generation;

import dev.shardline.coordinator.schedule.SampledTokenResult;
import dev.shardline.coordinator.schedule.TopLogprob;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.engine.TextAssembler;
import dev.shardline.model.engine.TextDelta;
import dev.shardline.model.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns one request's tokens into what every front end reports: text deltas (UTF-8 never split, special tokens
 * left out, cut at the first stop string, reasoning split from answer when generation starts inside
 * {@code <think>}), log-probs with their alternatives' text, and at the end usage and timings. Not thread-safe: the
 * tokens of one request arrive one at a time.
 */
public final class GenerationAccumulator {
    private final Tokenizer tokenizer;
    private final TextAssembler text;
    private final boolean reasoningMode;
    private final boolean logprobs;
    private final int promptTokens;
    private final List<Integer> tokens = new ArrayList<>();
    private int reasoningTokens;

    public GenerationAccumulator(Tokenizer tokenizer, List<String> stopStrings, boolean reasoningOpen, boolean logprobs,
                                 int promptTokens) {
        this.tokenizer = tokenizer;
        this.text = new TextAssembler(tokenizer, stopStrings, reasoningOpen);
        this.reasoningMode = reasoningOpen;
        this.logprobs = logprobs;
        this.promptTokens = promptTokens;
    }

    /** The delta one token makes. */
    public GenerationDelta push(SampledTokenResult r) {
        tokens.add(r.tokenId());
        if (reasoningMode && !text.inAnswer()) {
            reasoningTokens++;                                  // generated inside <think>, its closing tag included
        }
        TextDelta d = text.push(r.tokenId());
        List<Float> lp = logprobs ? List.of(r.logprob()) : List.of();
        List<List<TokenLogprob>> top = List.of();
        if (logprobs && !r.top().isEmpty()) {
            List<TokenLogprob> alternatives = new ArrayList<>(r.top().size());
            for (TopLogprob t : r.top()) {
                alternatives.add(new TokenLogprob(t.tokenId(), t.logprob(), tokenizer.decode(new int[] {t.tokenId()})));
            }
            top = List.of(alternatives);
        }
        return new GenerationDelta(List.of(r.tokenId()), d.reasoning(), d.answer(), lp, top);
    }

    /** True once a stop string appeared: the sequence must end. */
    public boolean stopped() {
        return text.stopped();
    }

    /** Held-back text, to send before the end (call once). */
    public GenerationDelta flush() {
        TextDelta d = text.finish();
        return new GenerationDelta(List.of(), d.reasoning(), d.answer(), List.of(), List.of());
    }

    /** The end, after {@link #flush()}: a stop string that matched turns any reason into STOP. */
    public Completion completion(FinishReason reason, Timings timings, int migrations) {
        FinishReason r = text.stopped() ? FinishReason.STOP : reason;
        String reasoning = reasoningMode ? text.reasoning() : "";
        String answer = reasoningMode ? text.answer() : text.text();
        return new Completion(r, text.matchedStop(), new Usage(promptTokens, tokens.size(), reasoningTokens), timings,
                migrations, tokens, reasoning, answer);
    }

    public int generated() {
        return tokens.size();
    }
}
