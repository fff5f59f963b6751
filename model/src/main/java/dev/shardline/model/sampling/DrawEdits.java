package dev.shardline.model.sampling;

import java.util.Arrays;
import java.util.Map;

/**
 * A sequence's logit bias and penalties for one draw as per-token edits, so that a device can apply exactly what
 * the {@link Sampler} applies before its draw (steps 1 to 3 of its order) to the few tokens they touch. Edit j
 * changes logit {@code ids[j]} by, in this order and each step rounded to float:
 * {@code v += bias[j]} (kind {@link #BIAS}); {@code v = v > 0 ? v / repetition : v * repetition}
 * ({@link #REPETITION}: the token is in the prompt or the output and the penalty is not 1);
 * {@code v -= frequency * (float) counts[j]; v -= presence} ({@link #OUTPUT}: the token was generated and one of
 * those penalties is not 0). Ids ascend; ids at or beyond the sampled vocabulary are left out, as the Sampler
 * ignores them.
 */
public record DrawEdits(float repetition, float frequency, float presence, int[] ids, int[] kinds, float[] bias,
                        int[] counts) {
    public static final int BIAS = 1;
    public static final int REPETITION = 2;
    public static final int OUTPUT = 4;
    /** No edits. */
    public static final DrawEdits NONE = new DrawEdits(1f, 0f, 0f, new int[0], new int[0], new float[0], new int[0]);

    public DrawEdits {
        int n = ids.length;
        if (kinds.length != n || bias.length != n || counts.length != n) {
            throw new IllegalArgumentException("edits: " + n + " ids, " + kinds.length + " kinds, " + bias.length
                    + " biases, " + counts.length + " counts");
        }
    }

    public int size() {
        return ids.length;
    }

    public boolean isEmpty() {
        return ids.length == 0;
    }

    /** Whether params make the Sampler change any logit below {@code vocabSize}, before the history is known. */
    public static boolean anyFor(SamplingParams p, int vocabSize) {
        if (p.repetitionPenalty() != 1.0 || p.frequencyPenalty() != 0 || p.presencePenalty() != 0) return true;
        for (int id : p.logitBias().keySet()) {
            if (id < vocabSize) return true;
        }
        return false;
    }

    /**
     * The edits the Sampler applies for {@code p} over the first {@code vocabSize} logits with {@code history}
     * followed by the generated tokens {@code more} (the history at the draw, without copying it).
     */
    public static DrawEdits of(SamplingParams p, TokenHistory history, int[] more, int vocabSize) {
        boolean rep = p.repetitionPenalty() != 1.0;
        boolean out = p.frequencyPenalty() != 0 || p.presencePenalty() != 0;
        int[] biased = new int[p.logitBias().size()];               // ascending (the map is sorted by id)
        float[] biases = new float[biased.length];
        int nb = 0;
        for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
            if (e.getKey() < vocabSize) {
                biased[nb] = e.getKey();
                biases[nb++] = e.getValue();
            }
        }
        IntCounts prompt = history.promptIds();
        IntCounts output = history.outputIds();
        IntCounts extra = new IntCounts();
        for (int id : more) extra.increment(id);
        int[] all = new int[nb + (rep ? prompt.size() : 0) + (rep || out ? output.size() + extra.size() : 0)];
        int m = 0;
        for (int i = 0; i < nb; i++) all[m++] = biased[i];
        if (rep) {
            for (int i = 0; i < prompt.size(); i++) if (prompt.key(i) < vocabSize) all[m++] = prompt.key(i);
        }
        if (rep || out) {
            for (int i = 0; i < output.size(); i++) if (output.key(i) < vocabSize) all[m++] = output.key(i);
            for (int i = 0; i < extra.size(); i++) if (extra.key(i) < vocabSize) all[m++] = extra.key(i);
        }
        Arrays.sort(all, 0, m);
        int n = 0;
        for (int i = 0; i < m; i++) {
            if (n == 0 || all[i] != all[n - 1]) all[n++] = all[i];
        }
        if (n == 0) return NONE;
        int[] ids = Arrays.copyOf(all, n);
        int[] kinds = new int[n];
        float[] bias = new float[n];
        int[] counts = new int[n];
        for (int j = 0; j < n; j++) {
            int id = ids[j];
            int at = Arrays.binarySearch(biased, 0, nb, id);
            if (at >= 0) {
                kinds[j] |= BIAS;
                bias[j] = biases[at];
            }
            int generated = output.count(id) + extra.count(id);
            if (rep && (generated > 0 || prompt.contains(id))) kinds[j] |= REPETITION;
            if (out && generated > 0) {
                kinds[j] |= OUTPUT;
                counts[j] = generated;
            }
        }
        return new DrawEdits((float) p.repetitionPenalty(), (float) p.frequencyPenalty(), (float) p.presencePenalty(),
                ids, kinds, bias, counts);
    }

    /** The edited value of logit {@code v} by edit j (the arithmetic a device repeats). */
    public float edit(float v, int j) {
        int kind = kinds[j];
        if ((kind & BIAS) != 0) v += bias[j];
        if ((kind & REPETITION) != 0) v = v > 0 ? v / repetition : v * repetition;
        if ((kind & OUTPUT) != 0) {
            v -= frequency * counts[j];
            v -= presence;
        }
        return v;
    }

    /** Applies every edit to {@code x[offset + id]}. */
    public void apply(float[] x, int offset) {
        for (int j = 0; j < ids.length; j++) {
            x[offset + ids[j]] = edit(x[offset + ids[j]], j);
        }
    }

    @Override
    public String toString() {
        return "DrawEdits[r=" + repetition + ", f=" + frequency + ", p=" + presence + ", ids=" + Arrays.toString(ids)
                + ", kinds=" + Arrays.toString(kinds) + ", bias=" + Arrays.toString(bias) + ", counts="
                + Arrays.toString(counts) + "]";
    }

}
