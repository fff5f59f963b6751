package dev.shardline.model.forward;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.sampling.SampledToken;

/**
 * Chooses tokens where the logits were computed (a GPU backend), so a step reads back each such row's token id and
 * log-probability (and, when asked, its top alternatives) instead of the whole row: greedy tokens, and (when
 * {@link #draws}) temperature draws with the host {@code Sampler}'s exact rule. Backends without one (the CPU
 * backends) read the logits.
 */
public interface DeviceSampler {

    /**
     * For each row r in [0, rows) of {@code logits [rows, stride]}: the largest of its first {@code n} values
     * (lowest id on ties) into {@code ids[r]}, and that value's log-softmax over the same n values into
     * {@code logprobs[r]}, as the host {@code Sampler} reports a greedy token.
     */
    void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs);

    /** The most top log-probs {@link #argmaxTop} reports per row (0: it is not implemented). */
    default int maxTopLogprobs() {
        return 0;
    }

    /**
     * As {@link #argmaxLogprob}, with row r's {@code top[r]} (<= {@link #maxTopLogprobs}) most likely tokens and
     * their log-probs, as the host {@code Sampler.score} reports them. A row whose alternatives the device cannot
     * give with the host's exact semantics (rare corner cases) is declined: null, and the caller reads its logits
     * and samples it on the host.
     */
    default SampledToken[] argmaxTop(Activations logits, int rows, int stride, int n, int[] top) {
        throw new UnsupportedOperationException("this device sampler reports no top log-probs");
    }

    /** Whether {@link #draw} is implemented. */
    default boolean draws() {
        return false;
    }

    /**
     * For each row r in [0, rows) of {@code logits} starting at row {@code firstRow} (rows of {@code stride}, over
     * the first {@code n} values): the token the host {@code Sampler} draws with {@code draws[r]} (its params, seed
     * and position, {@link DeviceDraw#of}) and its log-probability from the raw logits. A row the device cannot
     * draw with the host's exact semantics (a NaN in it, a signed-zero tie at the top-k boundary) is declined: null,
     * and the caller reads its logits and samples it on the host.
     */
    default SampledToken[] draw(Activations logits, int firstRow, int rows, int stride, int n, DeviceDraw[] draws) {
        throw new UnsupportedOperationException("this device sampler draws no tokens");
    }
}
