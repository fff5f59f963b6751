package dev.shardline.model.forward;

/**
 * What a forward step produces. On a stage without the head: {@code hidden [rows, hidden]} for the next stage.
 * On the last stage: {@code logits [logitRows, vocab]}, where row j belongs to the batch's sequence
 * {@code logitSequences[j]} (only sequences that asked for logits appear, in batch order), except the sequences
 * whose token the device chose ({@link GreedyOnDevice}), which appear in {@code deviceTokens} only.
 */
public record ForwardResult(float[] hidden, float[] logits, int[] logitSequences, int vocabSize,
                            DeviceTokens deviceTokens) {

    /** A result without device-chosen tokens. */
    public ForwardResult(float[] hidden, float[] logits, int[] logitSequences, int vocabSize) {
        this(hidden, logits, logitSequences, vocabSize, DeviceTokens.NONE);
    }

    /** The logits row of the j-th sequence that asked for logits, copied out. */
    public float[] logitsRow(int j) {
        float[] row = new float[vocabSize];
        System.arraycopy(logits, j * vocabSize, row, 0, vocabSize);
        return row;
    }
}
