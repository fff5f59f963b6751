package dev.shardline.model.forward;

/**
 * Which sequences of a step the last stage's device picks greedily, over the first {@code vocabLimit} logits: for
 * sequence i (batch order) when {@code sequences[i]}. Their logits never leave the device; the others' do.
 */
public record GreedyOnDevice(DeviceSampler sampler, boolean[] sequences, int vocabLimit) {

    /** Every sequence's logits are read back (what a backend without a device sampler does). */
    public static final GreedyOnDevice NONE = new GreedyOnDevice(null, new boolean[0], 0);

    boolean has(int sequence) {
        return sampler != null && sequence < sequences.length && sequences[sequence];
    }
}
