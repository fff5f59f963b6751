package dev.shardline.model.forward;

import dev.shardline.model.sampling.TokenLogprob;

import java.util.Collections;
import java.util.List;

/**
 * Tokens the device chose on the last stage: {@code ids[j]} with log-probability {@code logprobs[j]} and top
 * alternatives {@code top.get(j)} (empty when none were asked for) for the batch's sequence {@code sequences[j]}
 * (batch order).
 */
public record DeviceTokens(int[] sequences, int[] ids, float[] logprobs, List<List<TokenLogprob>> top) {

    public static final DeviceTokens NONE = new DeviceTokens(new int[0], new int[0], new float[0]);

    public DeviceTokens {
        top = List.copyOf(top);
        if (top.size() != sequences.length) {
            throw new IllegalArgumentException(top.size() + " top lists for " + sequences.length + " sequences");
        }
    }

    /** Without top alternatives. */
    public DeviceTokens(int[] sequences, int[] ids, float[] logprobs) {
        this(sequences, ids, logprobs, Collections.nCopies(sequences.length, List.of()));
    }

    public int size() {
        return sequences.length;
    }
}
