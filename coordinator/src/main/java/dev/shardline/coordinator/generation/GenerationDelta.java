package dev.shardline.coordinator.generation;

import java.util.ArrayList;
import java.util.List;

/**
 * Newly generated tokens and their text. {@code text} = {@code reasoning} + {@code answer}: with a reasoning model in
 * chat mode, the part inside {@code <think>} is reasoning and the rest answer (tags removed); otherwise all of it is
 * answer. Text may lag the tokens (a multi-byte character or a possible stop string is held back until complete).
 *
 * @param logprobs    the log-probability of each token (empty unless asked for)
 * @param topLogprobs for each token, the most likely alternatives at its position (empty unless asked for)
 */
public record GenerationDelta(List<Integer> tokenIds, String reasoning, String answer, List<Float> logprobs,
                              List<List<TokenLogprob>> topLogprobs) {

    public GenerationDelta {
        tokenIds = List.copyOf(tokenIds);
        logprobs = List.copyOf(logprobs);
        topLogprobs = List.copyOf(topLogprobs);
    }

    public static final GenerationDelta EMPTY = new GenerationDelta(List.of(), "", "", List.of(), List.of());

    public String text() {
        return reasoning + answer;
    }

    public boolean isEmpty() {
        return tokenIds.isEmpty() && reasoning.isEmpty() && answer.isEmpty();
    }

    /** This delta followed by {@code next}, as one. */
    public GenerationDelta then(GenerationDelta next) {
        List<Integer> ids = new ArrayList<>(tokenIds);
        ids.addAll(next.tokenIds);
        List<Float> lp = new ArrayList<>(logprobs);
        lp.addAll(next.logprobs);
        List<List<TokenLogprob>> top = new ArrayList<>(topLogprobs);
        top.addAll(next.topLogprobs);
        return new GenerationDelta(ids, reasoning + next.reasoning, answer + next.answer, lp, top);
    }
}
