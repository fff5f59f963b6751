package dev.shardline.model.forward;

/**
 * What a forward step produces. On a stage without the head: {@code hidden [rows, hidden]} for the next stage.
 * On the last stage: {@code logits [logitRows, vocab]}, where row j belongs to the batch's sequence
 * {@code logitSequences[j]} (only sequences that asked for logits appear, in batch order).
 */
public record ForwardResult(float[] hidden, float[] logits, int[] logitSequences, int vocabSize) {

    /** The logits row of the j-th sequence that asked for logits, copied out. */
    public float[] logitsRow(int j) {
        float[] row = new float[vocabSize];
        System.arraycopy(logits, j * vocabSize, row, 0, vocabSize);
        return row;
    }
}
