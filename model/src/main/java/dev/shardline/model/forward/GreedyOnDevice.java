package dev.shardline.model.forward;

/**
 * Which sequences of a step the last stage's device picks greedily, over the first {@code vocabLimit} logits: for
 * sequence i (batch order) when {@code sequences[i]}, with {@code topLogprobs[i]} alternatives (0 when the array is
 * shorter). Their logits never leave the device, unless the device declines a row (see
 * {@link DeviceSampler#argmaxTop}); the others' do.
 */
public record GreedyOnDevice(DeviceSampler sampler, boolean[] sequences, int vocabLimit, int[] topLogprobs) {

    /** Every sequence's logits are read back (what a backend without a device sampler does). */
    public static final GreedyOnDevice NONE = new GreedyOnDevice(null, new boolean[0], 0);

    /** Without top log-probs. */
    public GreedyOnDevice(DeviceSampler sampler, boolean[] sequences, int vocabLimit) {
        this(sampler, sequences, vocabLimit, new int[0]);
    }

    boolean has(int sequence) {
        return sampler != null && sequence < sequences.length && sequences[sequence];
    }

    /** The top log-probs sequence i asks the device for. */
    int top(int sequence) {
        return sequence < topLogprobs.length ? topLogprobs[sequence] : 0;
    }
}
