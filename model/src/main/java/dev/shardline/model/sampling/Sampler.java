package dev.shardline.model.sampling;

import java.util.Objects;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * Picks the next token of one sequence from its logits, in vLLM's order:
 * <ol>
 *   <li>repetition penalty on tokens of prompt and output ({@code logit > 0 ? logit / r : logit * r}),</li>
 *   <li>frequency penalty ({@code - f * count}) and presence penalty ({@code - p}) on generated tokens only,</li>
 *   <li>temperature below 1e-5: greedy argmax (lowest id on ties), done;</li>
 *   <li>otherwise logits / temperature, then top-k, then top-p over the softmax of what top-k kept (the smallest
 *       most-likely set whose mass reaches top_p; the token that crosses it is kept), then min-p (drop tokens whose
 *       probability is below min_p x the top probability; since the top token always survives top-k/top-p this
 *       test does not depend on the order), then one draw from the renormalized rest.</li>
 * </ol>
 * Ties are broken by the lower token id everywhere (top-k keeps exactly k tokens, where vLLM keeps all tokens tied
 * with the k-th). The draw uses one {@code nextDouble()} of a {@link SplittableRandom} seeded with the params' seed,
 * so the same seed and logits give the same tokens.
 *
 * <p>Cost per call for a 152064-token vocabulary (well under a millisecond): one copy of the logits,
 * O(distinct history tokens) for the penalties, a vectorized max and exp pass ({@link VectorMath}), top-k through a
 * k-sized heap, top-p without top-k through a histogram that sorts only one bucket ({@link Selection#nucleus}),
 * and one more exp pass over the raw logits for the logprob. The caller's array is never modified: the work
 * happens in
 * per-thread scratch arrays. A Sampler is not thread-safe (one per sequence), but many samplers may run on
 * different threads.
 */
public final class Sampler {
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final SamplingParams params;
    private final RandomGenerator rng;

    /** @throws InvalidSamplingException when params are out of range */
    public Sampler(SamplingParams params) {
        this.params = params.validate();
        this.rng = params.seed() == null ? new SplittableRandom() : new SplittableRandom(params.seed());
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Chooses a token from {@code logits[offset .. offset + vocabSize)} and appends it to history.
     *
     * @param history the sequence's prompt and generated tokens (ids >= vocabSize are ignored by the penalties)
     */
    public SampledToken sample(float[] logits, int offset, int vocabSize, TokenHistory history) {
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        if (vocabSize == 0) {
            throw new IllegalArgumentException("vocabSize must be > 0");
        }
        Scratch s = SCRATCH.get();
        s.ensure(vocabSize);
        float[] x = s.x; // [vocabSize] penalized logits
        System.arraycopy(logits, offset, x, 0, vocabSize);
        applyPenalties(x, vocabSize, history, params);
        int id = params.isGreedy() ? argmax(x, vocabSize) : draw(x, vocabSize, s);
        history.addGenerated(id);
        return new SampledToken(id, logSoftmaxAt(logits, offset, vocabSize, id));
    }

    /**
     * Takes {@code id} as the next token without drawing (a test hook that forces given tokens): appends it to
     * history and returns it with its log-probability under the raw logits, as {@link #sample} would.
     */
    public SampledToken force(float[] logits, int offset, int vocabSize, TokenHistory history, int id) {
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        Objects.checkIndex(id, vocabSize);
        history.addGenerated(id);
        return new SampledToken(id, logSoftmaxAt(logits, offset, vocabSize, id));
    }

    /** Steps 1 and 2: repetition, frequency and presence penalties, in place on x[0..vocabSize). */
    static void applyPenalties(float[] x, int vocabSize, TokenHistory history, SamplingParams p) {
        IntCounts prompt = history.promptIds();
        IntCounts output = history.outputIds();
        if (p.repetitionPenalty() != 1.0) {
            float r = (float) p.repetitionPenalty();
            for (int i = 0; i < prompt.size(); i++) {
                int id = prompt.key(i);
                if (id < vocabSize) x[id] = x[id] > 0 ? x[id] / r : x[id] * r;
            }
            for (int i = 0; i < output.size(); i++) {
                int id = output.key(i);
                if (id < vocabSize && !prompt.contains(id)) x[id] = x[id] > 0 ? x[id] / r : x[id] * r;
            }
        }
        if (p.frequencyPenalty() != 0 || p.presencePenalty() != 0) {
            float f = (float) p.frequencyPenalty();
            float pr = (float) p.presencePenalty();
            for (int i = 0; i < output.size(); i++) {
                int id = output.key(i);
                if (id < vocabSize) {
                    x[id] -= f * output.count(id);
                    x[id] -= pr;
                }
            }
        }
    }

    /** Index of the largest value, lowest index on ties (NaN never wins unless everything is NaN: then 0). */
    static int argmax(float[] x, int n) {
        float max = VectorMath.max(x, 0, n);
        if (!Float.isNaN(max)) {
            for (int i = 0; i < n; i++) {
                if (x[i] == max) return i;
            }
        }
        int best = 0; // NaN present: slow path that skips NaN
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (x[i] > bestValue) {
                bestValue = x[i];
                best = i;
            }
        }
        return best;
    }

    private int draw(float[] x, int vocabSize, Scratch s) {
        int top = argmax(x, vocabSize);
        float max = x[top];
        if (!Float.isFinite(max)) {
            return top; // +inf dominates; all -inf/NaN has no distribution: fall back to argmax
        }
        float invT = (float) (1.0 / params.temperature());
        int[] ids = s.ids;
        float[] w = s.w; // w[j] = exp((x - max) / T) of candidate ids[j]; 1 for the top token
        int n;
        boolean dense = false; // true: the candidates are all tokens, weights in s.wAll
        if (params.topKEnabled() && params.topK() < vocabSize) {
            n = Selection.selectTopK(x, vocabSize, params.topK(), s.keys);
            double norm = 0;
            for (int j = 0; j < n; j++) {
                ids[j] = (int) s.keys[j];
                w[j] = (float) Math.exp((x[ids[j]] - max) * invT);
                norm += w[j];
            }
            if (params.topP() < 1.0) { // sorted best first: keep while the mass before is below top_p
                double limit = params.topP() * norm;
                double cumBefore = 0;
                int keep = 0;
                while (keep < n && cumBefore < limit) {
                    cumBefore += w[keep++];
                }
                n = Math.max(keep, 1);
            }
        } else {
            double norm = VectorMath.expInto(x, vocabSize, max, invT, s.wAll);
            if (params.topP() < 1.0) {
                n = Selection.nucleus(x, s.wAll, vocabSize, max, invT, norm, params.topP(), ids, w, s.keys, s.mass);
            } else {
                n = vocabSize;
                dense = true;
            }
        }
        if (params.minP() > 0) { // p_i / p_max == w_i; the top token (w == 1) always stays
            float minW = (float) params.minP();
            float[] from = dense ? s.wAll : w;
            int kept = 0;
            for (int j = 0; j < n; j++) {
                if (from[j] >= minW) {
                    ids[kept] = dense ? j : ids[j];
                    w[kept++] = from[j];
                }
            }
            n = kept;
            dense = false;
        }
        float[] weights = dense ? s.wAll : w;
        double total = 0;
        for (int j = 0; j < n; j++) {
            total += weights[j];
        }
        double u = rng.nextDouble() * total;
        int last = 0;
        for (int j = 0; j < n; j++) {
            if (weights[j] > 0) last = j;
            u -= weights[j];
            if (u < 0) {
                return dense ? j : ids[j];
            }
        }
        return dense ? last : ids[last]; // rounding left u >= 0: the last token with weight
    }

    /** log_softmax(logits[offset .. offset + n))[id]. */
    static float logSoftmaxAt(float[] logits, int offset, int n, int id) {
        float max = VectorMath.max(logits, offset, n);
        if (!Float.isFinite(max)) {
            return logits[offset + id] == max ? 0f : Float.NEGATIVE_INFINITY;
        }
        double sum = VectorMath.sumExp(logits, offset, n, max, 1f);
        return (float) (logits[offset + id] - max - Math.log(sum));
    }

    /** Per-thread work arrays, grown to the largest vocabulary seen. */
    private static final class Scratch {
        float[] x = new float[0];    // penalized logits
        float[] wAll = new float[0]; // exp weights of every token
        float[] w = new float[0];    // exp weights of the candidates
        int[] ids = new int[0];      // candidate ids
        long[] keys = new long[0];   // sort keys
        double[] mass = new double[Selection.BUCKETS]; // top-p histogram

        void ensure(int n) {
            if (x.length < n) {
                x = new float[n];
                wAll = new float[n];
                w = new float[n];
                ids = new int[n];
                keys = new long[n];
            }
        }
    }
}
