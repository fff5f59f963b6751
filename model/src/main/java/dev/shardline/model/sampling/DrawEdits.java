package dev.shardline.model.sampling;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

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
        float r = (float) p.repetitionPenalty();
        boolean rep = p.repetitionPenalty() != 1.0;
        boolean out = p.frequencyPenalty() != 0 || p.presencePenalty() != 0;
        TreeMap<Integer, int[]> edits = new TreeMap<>();            // id -> {kind, bias bits, count}
        for (Map.Entry<Integer, Float> e : p.logitBias().entrySet()) {
            if (e.getKey() < vocabSize) {
                edits.put(e.getKey(), new int[] {BIAS, Float.floatToRawIntBits(e.getValue()), 0});
            }
        }
        if (rep || out) {
            IntCounts prompt = history.promptIds();
            IntCounts output = history.outputIds();
            Map<Integer, Integer> generated = new TreeMap<>();
            for (int i = 0; i < output.size(); i++) generated.put(output.key(i), output.count(output.key(i)));
            for (int id : more) generated.merge(id, 1, Integer::sum);
            if (rep) {
                for (int i = 0; i < prompt.size(); i++) {
                    if (prompt.key(i) < vocabSize) slot(edits, prompt.key(i))[0] |= REPETITION;
                }
            }
            for (Map.Entry<Integer, Integer> g : generated.entrySet()) {
                if (g.getKey() >= vocabSize) continue;
                int[] e = slot(edits, g.getKey());
                if (rep) e[0] |= REPETITION;
                if (out) {
                    e[0] |= OUTPUT;
                    e[2] = g.getValue();
                }
            }
        }
        int n = edits.size();
        int[] ids = new int[n];
        int[] kinds = new int[n];
        float[] bias = new float[n];
        int[] counts = new int[n];
        int j = 0;
        for (Map.Entry<Integer, int[]> e : edits.entrySet()) {
            ids[j] = e.getKey();
            kinds[j] = e.getValue()[0];
            bias[j] = Float.intBitsToFloat(e.getValue()[1]);
            counts[j++] = e.getValue()[2];
        }
        return n == 0 ? NONE : new DrawEdits(r, (float) p.frequencyPenalty(), (float) p.presencePenalty(), ids, kinds,
                bias, counts);
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

    private static int[] slot(TreeMap<Integer, int[]> edits, int id) {
        return edits.computeIfAbsent(id, k -> new int[3]);
    }
}
