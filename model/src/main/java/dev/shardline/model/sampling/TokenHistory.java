package dev.shardline.model.sampling;

import java.util.Arrays;

/**
 * The tokens one sequence has seen, kept so that sampling penalties cost O(distinct tokens) per step:
 * the distinct prompt ids (for repetition_penalty) and a count per generated id (for all three penalties).
 * Its {@link #length()} is the position of the next token, which keys the sampler's random draw.
 * {@link Sampler#sample} appends each sampled token; {@link Sampler#choose} does not, for callers that record what
 * the sequence really continues with (a pipeline's last stage takes it from the next micro-batch). Not thread-safe.
 */
public final class TokenHistory {
    private final IntCounts prompt = new IntCounts();
    private final IntCounts output = new IntCounts();
    private int[] generated = new int[16];
    private int generatedCount;
    private final int promptLength;

    private TokenHistory(int promptLength) {
        this.promptLength = promptLength;
    }

    /** A history holding the prompt's token ids and nothing generated yet. */
    public static TokenHistory ofPrompt(int[] promptIds) {
        TokenHistory h = new TokenHistory(promptIds.length);
        for (int id : promptIds) {
            h.prompt.increment(id);
        }
        return h;
    }

    /** Records one generated token. */
    public void addGenerated(int tokenId) {
        output.increment(tokenId);
        if (generatedCount == generated.length) {
            generated = Arrays.copyOf(generated, generatedCount * 2);
        }
        generated[generatedCount++] = tokenId;
    }

    public int promptLength() {
        return promptLength;
    }

    public int generatedCount() {
        return generatedCount;
    }

    /** Tokens held, prompt and generated: the position of the token sampled next. */
    public int length() {
        return promptLength + generatedCount;
    }

    /** The generated ids in order (a copy). */
    public int[] generated() {
        return Arrays.copyOf(generated, generatedCount);
    }

    /** How often tokenId was generated (prompt not counted). */
    public int outputCount(int tokenId) {
        return output.count(tokenId);
    }

    /** Whether tokenId occurs in the prompt or the output. */
    public boolean seen(int tokenId) {
        return prompt.contains(tokenId) || output.contains(tokenId);
    }

    IntCounts promptIds() {
        return prompt;
    }

    IntCounts outputIds() {
        return output;
    }
}
