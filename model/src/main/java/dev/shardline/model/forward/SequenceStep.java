package dev.shardline.model.forward;

/**
 * One sequence's part of a forward step: {@code rows} tokens at positions {@code firstPosition ...}, a prefill
 * chunk (many rows) or a decode token (one row). {@code tokens} holds their ids on the stage that embeds (it may
 * be null elsewhere: the hidden states arrive from the previous stage). {@code blockTable} lists the KV blocks of
 * the sequence, covering at least {@code firstPosition + rows} positions. {@code wantLogits} asks for the logits of
 * the sequence's last row (the end of a prompt, or a decode step) on the stage that holds the head.
 */
public record SequenceStep(int[] tokens, int rows, int firstPosition, int[] blockTable, boolean wantLogits) {

    public SequenceStep {
        if (rows <= 0) {
            throw new IllegalArgumentException("a sequence step needs at least one row, got " + rows);
        }
        if (tokens != null && tokens.length != rows) {
            throw new IllegalArgumentException(tokens.length + " token ids for " + rows + " rows");
        }
        if (firstPosition < 0) {
            throw new IllegalArgumentException("negative position " + firstPosition);
        }
    }

    public static SequenceStep ofTokens(int[] tokens, int firstPosition, int[] blockTable, boolean wantLogits) {
        return new SequenceStep(tokens, tokens.length, firstPosition, blockTable, wantLogits);
    }
}
