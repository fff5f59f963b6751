package dev.shardline.coordinator.schedule;

import dev.shardline.model.forward.SequenceStep;

/**
 * One sequence's part of a micro-batch: {@code rows} tokens at positions {@code firstPosition ...} (a prefill
 * chunk or one decode token), the KV blocks of the whole sequence so far (a snapshot), whether the last stage
 * samples a token after it, whether the sampling params travel with it (the sequence's first entry, and the first
 * after a preemption: the last stage (re)creates its sampler state), and how many tokens the sequence has generated
 * (so sampling randomness can be derived from (seed, sequence, index) and survives recomputation).
 */
public record BatchEntry(long sequenceId, int[] tokens, int firstPosition, int rows, int[] blockTable,
                         boolean wantLogits, boolean includeSamplingParams, int generatedCount) {

    public BatchEntry {
        tokens = tokens.clone();
        blockTable = blockTable.clone();
        if (tokens.length != rows || rows <= 0) {
            throw new IllegalArgumentException("entry of sequence " + sequenceId + ": " + tokens.length
                    + " tokens for " + rows + " rows");
        }
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    @Override
    public int[] blockTable() {
        return blockTable.clone();
    }

    /** The forward-pass view of this entry (token ids included: the first stage embeds them). */
    public SequenceStep toSequenceStep() {
        return new SequenceStep(tokens.clone(), rows, firstPosition, blockTable.clone(), wantLogits);
    }
}
