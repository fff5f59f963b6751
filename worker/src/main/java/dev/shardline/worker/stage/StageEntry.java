package dev.shardline.worker.stage;

import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.sampling.SamplingParams;

/**
 * One sequence's rows in a micro-batch, as a stage receives it: the token ids of its rows (every stage gets them;
 * the last needs them for penalties), positions, block table, whether to sample after it, the sampling parameters
 * (on a sequence's first entry, or its first after a preemption) and how many of its tokens so far were generated
 * (so a recomputed sequence's history tells prompt from output), and the test hook's forced token ids (generated
 * token i is forcedTokenIds[i] while i is below its length; sent with the sampling parameters).
 */
public record StageEntry(long sequenceId, int[] tokens, int firstPosition, int[] blockTable, boolean wantLogits,
                         SamplingParams sampling, int generatedCount, int[] forcedTokenIds) {

    public StageEntry(long sequenceId, int[] tokens, int firstPosition, int[] blockTable, boolean wantLogits,
                      SamplingParams sampling, int generatedCount) {
        this(sequenceId, tokens, firstPosition, blockTable, wantLogits, sampling, generatedCount, new int[0]);
    }

    public SequenceStep toStep(boolean withTokens) {
        return new SequenceStep(withTokens ? tokens : null, tokens.length, firstPosition, blockTable, wantLogits);
    }
}
