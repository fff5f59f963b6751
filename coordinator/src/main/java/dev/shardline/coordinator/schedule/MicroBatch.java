package dev.shardline.coordinator.schedule;

import java.util.List;

/**
 * One scheduler step for one pipeline. Stages first forget {@code finishedSequenceIds} (sequences that ended or
 * were preempted: the last stage drops their sampler state), then run the entries. The result lists one sampled
 * token per entry with {@link BatchEntry#wantLogits()}.
 */
public record MicroBatch(long stepId, List<BatchEntry> entries, List<Long> finishedSequenceIds) {

    public MicroBatch {
        entries = List.copyOf(entries);
        finishedSequenceIds = List.copyOf(finishedSequenceIds);
    }

    /** Rows of all entries: the hidden states [rows, hidden] that travel between stages. */
    public int totalRows() {
        return entries.stream().mapToInt(BatchEntry::rows).sum();
    }

    /** Entries whose last row is sampled, in batch order (the order of the logits rows). */
    public List<BatchEntry> logitEntries() {
        return entries.stream().filter(BatchEntry::wantLogits).toList();
    }
}
