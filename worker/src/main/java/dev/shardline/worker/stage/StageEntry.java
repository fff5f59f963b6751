package dev.shardline.worker.stage;

import dev.shardline.model.forward.SequenceStep;

/**
 * One sequence's rows in a micro-batch, as a stage receives it: the token ids of its rows (every stage gets them;
 * the last keeps them as the sequence's history, for the penalties and the position of the draw), positions, block
 * table, whether to sample after it, the sampling setup (on a sequence's first entry, or its first after a
 * preemption or a move to this pipeline) and how many of its tokens so far were generated (so a recomputed
 * sequence's history tells prompt from output when the setup does not say).
 */
public record StageEntry(long sequenceId, int[] tokens, int firstPosition, int[] blockTable, boolean wantLogits,
                         SamplingSetup sampling, int generatedCount) {

    public SequenceStep toStep(boolean withTokens) {
        return new SequenceStep(withTokens ? tokens : null, tokens.length, firstPosition, blockTable, wantLogits);
    }
}
