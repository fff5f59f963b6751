package dev.shardline.model.forward;

/**
 * Which sequences of a step the last stage's device picks the token of, over the first {@code vocabLimit} logits:
 * sequence i (batch order) when {@code sequences[i]}; greedily with {@code topLogprobs[i]} alternatives (0 when the
 * array is shorter), or, where {@code draws[i]} is not null, by {@link DeviceSampler#draw} with the host Sampler's
 * rule (a temperature draw, or greedy after a logit bias and penalties). Their logits never leave the device,
 * unless the device declines a row (see {@link DeviceSampler#argmaxTop} and {@link DeviceSampler#draw}); the
 * others' do.
 */
public record GreedyOnDevice(DeviceSampler sampler, boolean[] sequences, int vocabLimit, int[] topLogprobs,
                             DeviceDraw[] draws) {

    /** Every sequence's logits are read back (what a backend without a device sampler does). */
    public static final GreedyOnDevice NONE = new GreedyOnDevice(null, new boolean[0], 0);

    /** Greedy only, without top log-probs. */
    public GreedyOnDevice(DeviceSampler sampler, boolean[] sequences, int vocabLimit) {
        this(sampler, sequences, vocabLimit, new int[0]);
    }

    /** Greedy only. */
    public GreedyOnDevice(DeviceSampler sampler, boolean[] sequences, int vocabLimit, int[] topLogprobs) {
        this(sampler, sequences, vocabLimit, topLogprobs, new DeviceDraw[0]);
    }

    boolean has(int sequence) {
        return sampler != null && sequence < sequences.length && sequences[sequence];
    }

    /** The top log-probs sequence i asks the device for. */
    int top(int sequence) {
        return sequence < topLogprobs.length ? topLogprobs[sequence] : 0;
    }

    /** Sequence i's draw, or null when the device picks its token greedily. */
    DeviceDraw draw(int sequence) {
        return sequence < draws.length ? draws[sequence] : null;
    }
}
