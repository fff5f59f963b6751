package dev.shardline.worker.stage;

import dev.shardline.model.sampling.DrawEdits;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenHistory;

import java.util.Arrays;

/**
 * The last stage's sampling state of one sequence: its sampler and its token history. The history is exactly the
 * tokens the coordinator sent in the sequence's entries (prompt chunks, then each decode entry's token), never what
 * this stage sampled: the coordinator decides what the sequence continues with (a forced token, a stop, a recomputed
 * prefix), and the penalties and the position of the next draw follow it. Entries must continue the sequence where
 * the previous one ended. Prompt tokens accumulate until the first sample, which builds the history (prompt, then
 * the tokens generated before a recomputation); later entries add generated tokens.
 */
final class SequenceSampling {
    private final long sequenceId;
    private final Sampler sampler;
    private final int promptTokens;      // 0: derived at the first sample from generatedBefore
    private final int generatedBefore;
    private final int[] forced;
    private int[] pending = new int[64];
    private int pendingCount;
    private TokenHistory history;

    SequenceSampling(long sequenceId, SamplingSetup setup, int generatedCount) {
        this.sequenceId = sequenceId;
        this.sampler = new Sampler(setup.params());
        this.promptTokens = setup.promptTokens();
        this.generatedBefore = generatedCount;
        this.forced = setup.forcedTokenIds();
    }

    SamplingParams params() {
        return sampler.params();
    }

    /** The seed of the sequence's draws (its params', or the one its sampler picked). */
    long seed() {
        return sampler.seed();
    }

    /**
     * Whether the token after an entry of {@code entryTokens} tokens may be forced: the setup forces that generated
     * token's number (true whenever it forces any before the first sample, which builds the history).
     */
    boolean mayForceAfter(int entryTokens) {
        if (forced.length == 0) return false;
        return history == null || history.generatedCount() + entryTokens < forced.length;
    }

    /**
     * The bias and penalties of the draw after an entry of {@code entryTokens}, over the first {@code vocab} logits:
     * of the history the sample will see (built now from the held tokens when it is not built yet, without keeping
     * it); null when that history is invalid (the sample itself then reports it).
     */
    DrawEdits editsAfter(int[] entryTokens, int vocab) {
        if (history != null) return DrawEdits.of(sampler.params(), history, entryTokens, vocab);
        int[] all = Arrays.copyOf(pending, pendingCount + entryTokens.length);
        System.arraycopy(entryTokens, 0, all, pendingCount, entryTokens.length);
        return editsOf(sampler.params(), sequenceId, all, promptTokens, generatedBefore, vocab);
    }

    /**
     * As {@link #editsAfter} for a sequence whose entry carries its setup (its sampling state starts afresh with the
     * entry's tokens).
     */
    static DrawEdits editsOfFirst(long sequenceId, SamplingSetup setup, int[] tokens, int generatedCount, int vocab) {
        return editsOf(setup.params(), sequenceId, tokens, setup.promptTokens(), generatedCount, vocab);
    }

    private static DrawEdits editsOf(SamplingParams p, long sequenceId, int[] tokens, int promptTokens,
                                     int generatedBefore, int vocab) {
        try {
            return DrawEdits.of(p, historyOf(sequenceId, tokens, tokens.length, promptTokens, generatedBefore),
                    new int[0], vocab);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Tokens the sequence holds here: the position of the next token. */
    int length() {
        return history == null ? pendingCount : history.length();
    }

    /** @throws IllegalArgumentException unless an entry starting at firstPosition continues the sequence */
    void checkContinues(int firstPosition) {
        if (firstPosition != length()) {
            throw new IllegalArgumentException("sequence " + sequenceId + ": entry starts at position " + firstPosition
                    + " but the last stage holds " + length() + " of its tokens (entries must continue the sequence)");
        }
    }

    /** Adds an entry's tokens, which start at firstPosition. */
    void see(int firstPosition, int[] tokens) {
        checkContinues(firstPosition);
        if (history != null) {
            for (int t : tokens) {
                history.addGenerated(t);
            }
            return;
        }
        if (pendingCount + tokens.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingCount + tokens.length));
        }
        System.arraycopy(tokens, 0, pending, pendingCount, tokens.length);
        pendingCount += tokens.length;
    }

    /**
     * The token at position {@link #length()}: forced when the setup forces generated token number
     * {@code length - prompt}, else drawn by the sampler (keyed by its seed and this position).
     */
    SampledToken sample(float[] logits, int offset, int vocab) {
        if (history == null) {
            history = buildHistory();
        }
        int generated = history.generatedCount();
        if (generated < forced.length) {
            int id = forced[generated];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("sequence " + sequenceId + ": forced token " + id
                        + " is outside the sampled vocabulary [0, " + vocab + ")");
            }
            return sampler.score(id, logits, offset, vocab);
        }
        return sampler.choose(logits, offset, vocab, history);
    }

    /**
     * The token at {@link #length()} was chosen on the device: as at a host sample, the history is built here at the
     * sequence's first token (the prompt is what it holds then, less the tokens generated before), so the penalties
     * of later draws, on either side, see the same prompt.
     */
    void chosenElsewhere() {
        if (history == null) {
            history = buildHistory();
        }
    }

    private TokenHistory buildHistory() {
        TokenHistory h = historyOf(sequenceId, pending, pendingCount, promptTokens, generatedBefore);
        pending = null;
        return h;
    }

    /** The history of the first {@code count} held tokens: the prompt, then the generated ones. */
    private static TokenHistory historyOf(long sequenceId, int[] tokens, int count, int promptTokens,
                                          int generatedBefore) {
        int promptLength = promptTokens > 0 ? promptTokens : count - generatedBefore;
        if (promptLength < 0 || promptLength > count) {
            throw new IllegalArgumentException("sequence " + sequenceId + ": a prompt of " + promptLength
                    + " tokens, but the last stage holds " + count + " of its tokens");
        }
        TokenHistory h = TokenHistory.ofPrompt(Arrays.copyOf(tokens, promptLength));
        for (int i = promptLength; i < count; i++) {
            h.addGenerated(tokens[i]);
        }
        return h;
    }
}
