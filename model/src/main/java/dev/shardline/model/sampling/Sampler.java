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
 *   <li>otherwise a temperature draw on integer weights ({@link DrawWeights}: {@code w ~ 2^42 exp((x - max) / T)},
 *       exactly 2^42 for the top token, computed with an arithmetic a GPU reproduces bit for bit), in this order:
 *       top-k (the k best, value descending, lower id first on ties); top-p over what top-k kept (the shortest
 *       prefix while {@code (double) cumBefore < top_p x (double) total}, at least one token; without top-k the same
 *       rule over all tokens sorted by weight descending, lower id first); min-p (keep a candidate iff
 *       {@code (double) w >= min_p x 2^42}, which never drops the top token, so the order of the filters does not
 *       matter); then the draw: {@code target = (long) (u x (double) total)} (at most total - 1) and the token is the
 *       first remaining candidate, in candidate order (top-k/top-p order, or id order when neither is on), whose
 *       inclusive cumulative weight exceeds target.</li>
 * </ol>
 * Sums of weights are longs, so they do not depend on the order of summation: a device that adds them in any order
 * (the CUDA sampler adds per-thread chunks and scans) picks exactly the host's token from the same logits and u.
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
 * <p>Cost per call for a 152064-token vocabulary: one copy of the logits, O(biased + distinct history tokens)
 * for bias and penalties, a vectorized max, top-k through a k-sized heap and k weights; without top-k a weight per
 * token (the far tail, below 2^-42 of the top, costs one comparison), and for top-p a histogram of the weights that
 * sorts only two buckets ({@link Selection#nucleusDraw}); for the log-probs one more max and exp pass over the raw
 * logits ({@link VectorMath}) plus, with top log-probs, one pass through a heap of at most 20. The caller's array
 * is never modified: the work happens in per-thread scratch arrays. A Sampler is not thread-safe (one per
 * sequence), but many samplers may run on different threads.
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
    void applyBias(float[] x, int vocabSize) {
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

    /**
     * Steps 4 and 5 on {@link DrawWeights}: candidates (top-k best first, then the top-p prefix; without top-k the
     * nucleus in weight order; with neither every token in id order), min-p, then the first candidate whose
     * inclusive cumulative weight exceeds {@code (long) (u * total)}.
     */
    private int draw(float[] x, int vocabSize, Scratch s, double uniform) {
        int top = argmax(x, vocabSize);
        float max = x[top];
        if (!Float.isFinite(max)) {
            return top; // +inf dominates; all -inf/NaN has no distribution: fall back to argmax
        }
        float invT = (float) (1.0 / params.temperature());
        if (!(params.topKEnabled() && params.topK() < vocabSize) && params.topP() < 1.0) {
            return Selection.nucleusDraw(x, vocabSize, max, invT, params.topP(), params.minP(), uniform,
                    s.wAll, s.keys, s.mass);
        }
        int[] ids = s.ids;
        long[] w = s.w;
        int n;
        if (params.topKEnabled() && params.topK() < vocabSize) {
            n = Selection.selectTopK(x, vocabSize, params.topK(), s.keys);
            long total = 0;
            for (int j = 0; j < n; j++) {
                ids[j] = (int) s.keys[j];
                w[j] = DrawWeights.weight(x[ids[j]], max, invT);
                total += w[j];
            }
            if (params.topP() < 1.0) {
                n = topPPrefix(w, n, params.topP(), total);
            }
        } else {
            n = vocabSize;
            DrawWeightsVector.weights(x, n, max, invT, w);
            for (int i = 0; i < n; i++) {
                ids[i] = i;
            }
        }
        if (params.minP() > 0) {
            n = minP(ids, w, n, params.minP());
        }
        return ids[pick(w, n, uniform)];
    }

    /** Top-p over candidates in order: the shortest prefix while (double) cumBefore < topP x total, at least 1. */
    static int topPPrefix(long[] w, int n, double topP, long total) {
        double limit = topP * (double) total;
        long cumBefore = 0;
        int keep = 0;
        while (keep < n && (double) cumBefore < limit) {
            cumBefore += w[keep++];
        }
        return Math.max(keep, 1);
    }

    /** Min-p, in place and in order: keeps candidates with (double) w >= minP x 2^42; returns how many. */
    static int minP(int[] ids, long[] w, int n, double minP) {
        double minW = minP * DrawWeights.TOP;
        int kept = 0;
        for (int j = 0; j < n; j++) {
            if ((double) w[j] >= minW) {
                ids[kept] = ids[j];
                w[kept++] = w[j];
            }
        }
        return kept;
    }

    /**
     * The draw over weights w[0..n) (total > 0): target = (long) (u x total), at most total - 1; the index of the
     * first candidate whose inclusive cumulative weight exceeds it.
     */
    static int pick(long[] w, int n, double uniform) {
        long total = 0;
        for (int j = 0; j < n; j++) {
            total += w[j];
        }
        long target = drawTarget(uniform, total);
        long cum = 0;
        for (int j = 0; j < n; j++) {
            cum += w[j];
            if (cum > target) return j;
        }
        throw new IllegalStateException("no candidate weight: total " + total);
    }

    /** (long) (u x (double) total), clamped to total - 1. */
    static long drawTarget(double uniform, long total) {
        return Math.min((long) (uniform * (double) total), total - 1);
    }

    /** Per-thread work arrays, grown to the largest vocabulary seen. */
    private static final class Scratch {
        float[] x = new float[0];    // penalized logits
        long[] wAll = new long[0];   // draw weights of every token (top-p without top-k)
        long[] w = new long[0];      // draw weights of the candidates
        int[] ids = new int[0];      // candidate ids
        long[] keys = new long[0];   // sort keys
        long[] mass = new long[2 * Selection.BUCKETS]; // top-p histogram: weight mass, then the final mass

        void ensure(int n) {
            if (x.length < n) {
                x = new float[n];
                wAll = new long[n];
                w = new long[n];
                ids = new int[n];
                keys = new long[n];
            }
        }
    }
}
