package dev.shardline.model.sampling;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Picks the next token of one sequence from its logits, in vLLM's order:
 * <ol>
 *   <li>logit bias: each biased token's logit plus its bias,</li>
 *   <li>repetition penalty on tokens of prompt and output ({@code logit > 0 ? logit / r : logit * r}),</li>
 *   <li>frequency penalty ({@code - f * count}) and presence penalty ({@code - p}) on generated tokens only,</li>
 *   <li>temperature below 1e-5: greedy argmax (lowest id on ties), done;</li>
 *   <li>otherwise logits / temperature, then top-k, then top-p over the softmax of what top-k kept (the smallest
 *       most-likely set whose mass reaches top_p; the token that crosses it is kept), then min-p (drop tokens whose
 *       probability is below min_p x the top probability; since the top token always survives top-k/top-p this
 *       test does not depend on the order), then one draw from the renormalized rest.</li>
 * </ol>
 * Ties are broken by the lower token id everywhere (top-k keeps exactly k tokens, where vLLM keeps all tokens tied
 * with the k-th). The draw for the token at position p (the history's length: prompt + tokens generated before it)
 * is {@link SeededDraw#uniform SeededDraw.uniform(seed, p)}, a function of the seed and the position alone: a
 * sampler created again for the same sequence (recomputation, migration to another pipeline) continues with exactly
 * the tokens an uninterrupted one would pick from the same logits. A sampler without a seed picks one at random when
 * it is created.
 *
 * <p>Every token comes with its log-probability and, when asked, the {@link SamplingParams#topLogprobs()} most likely
 * tokens, all from the log-softmax of the RAW logits (the model's distribution, before bias, penalties and
 * temperature), as vLLM and OpenAI report them.
 *
 * <p>Cost per call for a 152064-token vocabulary (well under a millisecond): one copy of the logits,
 * O(biased + distinct history tokens) for bias and penalties, a vectorized max and exp pass ({@link VectorMath}),
 * top-k through a k-sized heap, top-p without top-k through a histogram that sorts only one bucket
 * ({@link Selection#nucleus}), and for the log-probs one more max and exp pass over the raw logits plus, with top
 * log-probs, one pass through a heap of at most 20. The caller's array is never modified: the work happens in
 * per-thread scratch arrays. A Sampler is not thread-safe (one per sequence), but many samplers may run on
 * different threads.
 */
public final class Sampler {
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final SamplingParams params;
    private final long seed;
    private final DrawRule draws;
    private final int[] biasIds;      // logit bias, ascending ids
    private final float[] biasValues;

    /** Where the uniform draw of a position comes from: {@link SeededDraw} (tests swap in a broken rule). */
    interface DrawRule {
        double uniform(long seed, long position);
    }

    /** @throws InvalidSamplingException when params are out of range */
    public Sampler(SamplingParams params) {
        this(params, SeededDraw::uniform);
    }

    Sampler(SamplingParams params, DrawRule draws) {
        this.params = params.validate();
        this.draws = draws;
        this.seed = params.seed() != null ? params.seed() : new SplittableRandom().nextLong();
        this.biasIds = new int[params.logitBias().size()];
        this.biasValues = new float[biasIds.length];
        int i = 0;
        for (Map.Entry<Integer, Float> e : params.logitBias().entrySet()) {   // sorted by id
            biasIds[i] = e.getKey();
            biasValues[i++] = e.getValue();
        }
    }

    public SamplingParams params() {
        return params;
    }

    /** The seed of the draws: the params' seed, or the one picked at random when they had none. */
    public long seed() {
        return seed;
    }

    /**
     * Chooses a token from {@code logits[offset .. offset + vocabSize)} for position {@code history.length()} and
     * appends it to history.
     *
     * @param history the sequence's prompt and generated tokens (ids >= vocabSize are ignored by the penalties)
     */
    public SampledToken sample(float[] logits, int offset, int vocabSize, TokenHistory history) {
        SampledToken t = choose(logits, offset, vocabSize, history);
        history.addGenerated(t.id());
        return t;
    }

    /**
     * Chooses a token from {@code logits[offset .. offset + vocabSize)} for position {@code history.length()},
     * leaving history as it is: for callers that record the token the sequence really continues with themselves.
     */
    public SampledToken choose(float[] logits, int offset, int vocabSize, TokenHistory history) {
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        if (vocabSize == 0) {
            throw new IllegalArgumentException("vocabSize must be > 0");
        }
        Scratch s = SCRATCH.get();
        s.ensure(vocabSize);
        float[] x = s.x; // [vocabSize] biased, penalized logits
        System.arraycopy(logits, offset, x, 0, vocabSize);
        applyBias(x, vocabSize);
        applyPenalties(x, vocabSize, history, params);
        int id = params.isGreedy() ? argmax(x, vocabSize)
                : draw(x, vocabSize, s, draws.uniform(seed, history.length()));
        return score(id, logits, offset, vocabSize);
    }

    /**
     * A token chosen elsewhere (forced), with its log-probability and top alternatives from
     * {@code logits[offset .. offset + vocabSize)}; no draw.
     */
    public SampledToken score(int id, float[] logits, int offset, int vocabSize) {
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        Objects.checkIndex(id, vocabSize);
        float max = VectorMath.max(logits, offset, vocabSize);
        double logSum = Float.isFinite(max) ? Math.log(VectorMath.sumExp(logits, offset, vocabSize, max, 1f)) : 0;
        float logprob = logSoftmax(logits[offset + id], max, logSum);
        int n = Math.min(params.topLogprobs(), vocabSize);
        if (n == 0) {
            return new SampledToken(id, logprob);
        }
        Scratch s = SCRATCH.get();
        s.ensure(vocabSize);
        Selection.selectTopK(logits, offset, vocabSize, n, s.keys);
        List<TokenLogprob> top = new ArrayList<>(n);
        for (int j = 0; j < n; j++) {
            int t = (int) s.keys[j];
            top.add(new TokenLogprob(t, logSoftmax(logits[offset + t], max, logSum)));
        }
        return new SampledToken(id, logprob, top);
    }

    /** log_softmax of one logit, given the row's max and log(sum(exp(x - max))). */
    private static float logSoftmax(float logit, float max, double logSum) {
        if (!Float.isFinite(max)) {
            return logit == max ? 0f : Float.NEGATIVE_INFINITY;
        }
        return (float) (logit - max - logSum);
    }

    /** Step 1: logit bias, in place on x[0..vocabSize); ids beyond the vocabulary are ignored. */
    private void applyBias(float[] x, int vocabSize) {
        for (int i = 0; i < biasIds.length && biasIds[i] < vocabSize; i++) {
            x[biasIds[i]] += biasValues[i];
        }
    }

    /** Steps 2 and 3: repetition, frequency and presence penalties, in place on x[0..vocabSize). */
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

    /** Steps 4 and 5: temperature, top-k, top-p, min-p, then the inverse CDF at u in [0, 1). */
    private int draw(float[] x, int vocabSize, Scratch s, double uniform) {
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
        double u = uniform * total;
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
