package dev.shardline.worker.stage;

import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.sampling.SamplingParams;

/**
 * One sequence's rows in a micro-batch, as a stage receives it: the token ids of its rows (every stage gets them;
 * the last needs them for penalties), positions, block table, whether to sample after it, the sampling parameters
 * (on a sequence's first entry, or its first after a preemption) and how many of its tokens so far were generated
 * (so a recomputed sequence's history tells prompt from output).
 */
public record StageEntry(long sequenceId, int[] tokens, int firstPosition, int[] blockTable, boolean wantLogits,
                         SamplingParams sampling, int generatedCount) {

    public SequenceStep toStep(boolean withTokens) {
        return new SequenceStep(withTokens ? tokens : null, tokens.length, firstPosition, blockTable, wantLogits);
    }
}
