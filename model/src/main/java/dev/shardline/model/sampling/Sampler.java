package dev.shardline.model.sampling;

import java.util.Arrays;
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
 * <p>Cost per call for a 152064-token vocabulary: one copy of the logits, O(distinct history tokens) for penalties,
 * one pass for top-k selection (a k-sized heap, no sort of the vocabulary), or one exp pass when top-k is off; top-p
 * without top-k sorts only the tokens that can possibly be in the nucleus (probability >= (1 - top_p) / 2V); and one
 * exp pass over the raw logits for the logprob. The caller's array is never modified: the work happens in
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
        int best = 0;
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
        double t = params.temperature();
        int[] ids = s.ids;
        float[] w = s.w; // w[j] = exp((x - max) / T) of candidate ids[j], 1 for the top token
        int n;
        double norm;
        boolean topK = params.topKEnabled() && params.topK() < vocabSize;
        if (topK) {
            n = selectTopK(x, vocabSize, params.topK(), s.keys);
            norm = 0;
            for (int j = 0; j < n; j++) {
                ids[j] = (int) s.keys[j];
                w[j] = (float) Math.exp((x[ids[j]] - max) / t);
                norm += w[j];
            }
        } else {
            float[] all = s.wAll;
            norm = 0;
            for (int i = 0; i < vocabSize; i++) {
                float e = (float) Math.exp((x[i] - max) / t);
                all[i] = e;
                norm += e;
            }
            n = 0;
            if (params.topP() < 1.0) {
                // Tokens with probability below (1 - top_p) / 2V have more than top_p of mass above them.
                double floor = (1.0 - params.topP()) / (2.0 * vocabSize) * norm;
                long[] keys = s.keys;
                for (int i = 0; i < vocabSize; i++) {
                    if (all[i] >= floor) keys[n++] = key(x[i], i);
                }
                Arrays.sort(keys, 0, n); // best first
                for (int j = 0; j < n; j++) {
                    ids[j] = (int) keys[j];
                    w[j] = all[ids[j]];
                }
            } else {
                for (int i = 0; i < vocabSize; i++) {
                    ids[i] = i;
                    w[i] = all[i];
                }
                n = vocabSize;
            }
        }
        if (params.topP() < 1.0) { // candidates are sorted best first here
            double limit = params.topP() * norm;
            double cumBefore = 0;
            int keep = 0;
            while (keep < n && cumBefore < limit) {
                cumBefore += w[keep];
                keep++;
            }
            n = Math.max(keep, 1);
        }
        if (params.minP() > 0) {
            float minW = (float) params.minP(); // p_i / p_max == w_i
            int kept = 0;
            for (int j = 0; j < n; j++) {
                if (w[j] >= minW) {
                    ids[kept] = ids[j];
                    w[kept] = w[j];
                    kept++;
                }
            }
            n = kept; // the top token has w == 1 >= min_p, so n >= 1
        }
        double total = 0;
        for (int j = 0; j < n; j++) {
            total += w[j];
        }
        double u = rng.nextDouble() * total;
        for (int j = 0; j < n; j++) {
            u -= w[j];
            if (u < 0) {
                return ids[j];
            }
        }
        return ids[n - 1];
    }

    /**
     * Puts the k best (value descending, id ascending) of x[0..n) into keys[0..k), best first; returns k.
     * A max-heap of keys keeps the current k best with the worst at the root; most values fail one comparison.
     */
    static int selectTopK(float[] x, int n, int k, long[] keys) {
        int size = 0;
        float worst = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = x[i];
            if (size == k) {
                if (!(v > worst)) continue; // an equal value with a higher id ranks lower
                keys[0] = key(v, i);
                siftDown(keys, k);
                worst = x[(int) keys[0]];
            } else {
                int c = size++;
                keys[c] = key(v, i);
                while (c > 0) { // sift up
                    int parent = (c - 1) >>> 1;
                    if (keys[parent] >= keys[c]) break;
                    long tmp = keys[parent];
                    keys[parent] = keys[c];
                    keys[c] = tmp;
                    c = parent;
                }
                if (size == k) worst = x[(int) keys[0]];
            }
        }
        Arrays.sort(keys, 0, size);
        return size;
    }

    private static void siftDown(long[] heap, int size) {
        int c = 0;
        while (true) {
            int l = 2 * c + 1;
            if (l >= size) return;
            int big = (l + 1 < size && heap[l + 1] > heap[l]) ? l + 1 : l;
            if (heap[c] >= heap[big]) return;
            long tmp = heap[c];
            heap[c] = heap[big];
            heap[big] = tmp;
            c = big;
        }
    }

    /** A long that sorts ascending by (value descending, id ascending); the low 32 bits are the id. */
    static long key(float value, int id) {
        int bits = Float.floatToRawIntBits(value);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // monotone in value as a signed int
        return ((long) ~ordered << 32) | (id & 0xffffffffL);
    }

    /** log_softmax(logits[offset .. offset + n))[id], in double precision. */
    static float logSoftmaxAt(float[] logits, int offset, int n, int id) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        if (!Float.isFinite(max)) {
            return logits[offset + id] == max ? 0f : Float.NEGATIVE_INFINITY;
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        return (float) (logits[offset + id] - max - Math.log(sum));
    }

    /** Per-thread work arrays, grown to the largest vocabulary seen. */
    private static final class Scratch {
        float[] x = new float[0];    // penalized logits
        float[] wAll = new float[0]; // exp weights of every token
        float[] w = new float[0];    // exp weights of the candidates
        int[] ids = new int[0];      // candidate ids
        long[] keys = new long[0];   // sort keys

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
