package dev.shardline.model.kernels;

import java.util.List;

/**
 * The shape of one attention call: the sequences in the batch (each with its own rows, positions and block table)
 * and the head layout. Query head {@code h} reads kv head {@code h / (qHeads / kvHeads)}, as transformers'
 * {@code repeat_kv} does.
 */
public record AttentionBatch(List<SequenceSlice> sequences, int qHeads, int kvHeads, int headDim, float scale) {

    public AttentionBatch {
        sequences = List.copyOf(sequences);
    }

    public int totalRows() {
        int n = 0;
        for (SequenceSlice s : sequences) n += s.rows();
        return n;
    }

    public int groupSize() {
        return qHeads / kvHeads;
    }
}
