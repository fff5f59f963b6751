package dev.shardline.worker.cuda;

import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.TokenLogprob;

import java.util.ArrayList;
import java.util.List;

/**
 * What {@code argmax_top_kernel} returns per row, turned into the {@link SampledToken} the host {@code Sampler.score}
 * would report for a greedy token with top log-probs (pure). Row r holds {@link #HEADER} + 2 x top ints:
 * {@code id | flags | max | value of id | log(sum exp(x - max)) as a double, low int first | top ids [top] |
 * their values [top]}, values as float bits, the top best first in the order of the host's {@code Selection.key}
 * (value descending, -0 below +0, lower id first on ties). Log-probs use the host's formula on those values:
 * {@code (float) (x - max - logSum)} with the float difference first; a non-finite max gives 0 for a value equal
 * to it and -inf otherwise; a NaN in the row gives -inf.
 *
 * <p>The host selects its top list with a heap that compares floats, so it departs from the key order in two
 * corners, where {@link #decode} declines the row (null: the caller samples it on the host from the logits): a
 * NaN in the row (the heap keeps only the NaNs among the first ids, ranked first) and both zeros present with a zero
 * at the row's last place (for the heap -0 == +0: which one it keeps depends on their ids' order).
 */
public final class DeviceTopLogprobs {

    /** Ints before a row's top ids. */
    public static final int HEADER = 6;
    static final int NAN = 1;
    static final int POSITIVE_ZERO = 2;
    static final int NEGATIVE_ZERO = 4;

    private DeviceTopLogprobs() {
    }

    /** Ints per row for a kernel run with {@code top} alternatives. */
    public static int rowInts(int top) {
        return HEADER + 2 * top;
    }

    /**
     * Row {@code r}'s token with its first {@code want} (<= top) alternatives, or null when the host's heap could
     * pick a different list ({@code want} > 0 only; a greedy token without alternatives is always the device's).
     */
    public static SampledToken decode(int[] out, int r, int top, int want) {
        if (want < 0 || want > top) throw new IllegalArgumentException("want " + want + " outside 0.." + top);
        int at = r * rowInts(top);
        int id = out[at];
        int flags = out[at + 1];
        float max = Float.intBitsToFloat(out[at + 2]);
        float chosen = Float.intBitsToFloat(out[at + 3]);
        double logSum = Double.longBitsToDouble((out[at + 4] & 0xffffffffL) | ((long) out[at + 5] << 32));
        boolean nan = (flags & NAN) != 0;
        float logprob = logSoftmax(chosen, max, logSum, nan);
        if (want == 0) return new SampledToken(id, logprob);
        if (nan) return null;
        float last = Float.intBitsToFloat(out[at + HEADER + top + want - 1]);
        if ((flags & POSITIVE_ZERO) != 0 && (flags & NEGATIVE_ZERO) != 0 && last == 0f) return null;
        List<TokenLogprob> list = new ArrayList<>(want);
        for (int j = 0; j < want; j++) {
            float v = Float.intBitsToFloat(out[at + HEADER + top + j]);
            list.add(new TokenLogprob(out[at + HEADER + j], logSoftmax(v, max, logSum, false)));
        }
        return new SampledToken(id, logprob, list);
    }

    /** Sampler's log_softmax of one logit given the row's max and log-sum (the host's max is NaN with a NaN). */
    static float logSoftmax(float logit, float max, double logSum, boolean nan) {
        if (nan) return Float.NEGATIVE_INFINITY;
        if (!Float.isFinite(max)) return logit == max ? 0f : Float.NEGATIVE_INFINITY;
        return (float) (logit - max - logSum);
    }
}
