package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bias and penalties as per-token edits give exactly the Sampler's penalized logits, bit for bit. */
class DrawEditsTest {

    static SamplingParams randomPenalties(SplittableRandom r, SamplingParams p, int n) {
        double rep = r.nextInt(3) == 0 ? 1.0 : 0.5 + r.nextDouble() * 1.5;
        double freq = r.nextInt(3) == 0 ? 0 : r.nextDouble() * 2 - 0.5;
        double pres = r.nextInt(3) == 0 ? 0 : r.nextDouble() * 2 - 0.5;
        p = p.withPenalties(pres, freq, rep);
        if (r.nextInt(3) == 0) {
            Map<Integer, Float> bias = new HashMap<>();
            for (int i = r.nextInt(5); i > 0; i--) bias.put(r.nextInt(n + 10), (float) (r.nextGaussian() * 5));
            if (r.nextInt(4) == 0) bias.put(r.nextInt(n), 0f);
            p = p.withLogitBias(bias);
        }
        return p;
    }

    /** A prompt and some generated tokens (ids up to n + 10, so some lie beyond the vocabulary). */
    static TokenHistory randomHistory(SplittableRandom r, int n) {
        int[] prompt = new int[r.nextInt(40)];
        for (int i = 0; i < prompt.length; i++) prompt[i] = r.nextInt(Math.min(n + 10, 60));
        TokenHistory h = TokenHistory.ofPrompt(prompt);
        for (int i = r.nextInt(60); i > 0; i--) h.addGenerated(r.nextInt(Math.min(n + 10, 80)));
        return h;
    }

    @Test
    void editsEqualTheSamplersBiasAndPenaltiesBitForBit() {
        SplittableRandom r = new SplittableRandom(8);
        int edited = 0;
        for (int i = 0; i < 3000; i++) {
            int n = 5 + r.nextInt(200);
            float[] x = new float[n];
            for (int j = 0; j < n; j++) {
                x[j] = r.nextInt(20) == 0 ? (r.nextBoolean() ? 0f : -0f) : (float) (r.nextGaussian() * 4);
            }
            SamplingParams p = randomPenalties(r, SamplingParams.defaults(), n);
            TokenHistory h = randomHistory(r, n);
            int[] more = new int[r.nextInt(3)];
            for (int j = 0; j < more.length; j++) more[j] = r.nextInt(Math.min(n + 10, 80));
            TokenHistory after = TokenHistory.ofPrompt(promptOf(h));
            for (int t : h.generated()) after.addGenerated(t);
            for (int t : more) after.addGenerated(t);

            float[] want = x.clone();
            new Sampler(p).applyBias(want, n);
            Sampler.applyPenalties(want, n, after, p);
            DrawEdits edits = DrawEdits.of(p, h, more, n);
            float[] got = x.clone();
            edits.apply(got, 0);
            for (int j = 0; j < n; j++) {
                assertEquals(Float.floatToRawIntBits(want[j]), Float.floatToRawIntBits(got[j]),
                        "case " + i + ", id " + j + ": " + want[j] + " vs " + got[j] + ", " + edits);
            }
            if (!edits.isEmpty()) edited++;
            if (!DrawEdits.anyFor(p, n)) assertTrue(edits.isEmpty(), "nothing to edit: " + p);
        }
        assertTrue(edited > 1500, "most cases edit something: " + edited);
    }

    @Test
    void aRepetitionPenaltyEditsPromptAndOutputOnceAndFrequencyCountsTheNewTokens() {
        TokenHistory h = TokenHistory.ofPrompt(new int[] {0, 0, 7});
        h.addGenerated(1);
        h.addGenerated(1);
        SamplingParams p = SamplingParams.defaults().withPenalties(0.25, 0.5, 2.0);
        DrawEdits e = DrawEdits.of(p, h, new int[] {3}, 4);                  // 7 lies beyond the vocabulary
        assertEquals(3, e.size());
        assertEquals(0, e.ids()[0]);
        assertEquals(DrawEdits.REPETITION, e.kinds()[0]);
        assertEquals(DrawEdits.REPETITION | DrawEdits.OUTPUT, e.kinds()[1]);
        assertEquals(2, e.counts()[1]);
        assertEquals(1, e.counts()[2]);
        float[] x = {2f, -1f, 0.5f, 3f};
        e.apply(x, 0);
        assertEquals(1f, x[0]);
        assertEquals(-3.25f, x[1]);
        assertEquals(0.5f, x[2]);
        assertEquals(0.75f, x[3]);
        assertTrue(DrawEdits.of(SamplingParams.defaults(), h, new int[] {3}, 4).isEmpty());
    }

    private static int[] promptOf(TokenHistory h) {
        // the prompt's tokens in order are not kept; a prompt with the same distinct ids and counts serves
        int[] out = new int[h.promptLength()];
        int k = 0;
        IntCounts ids = h.promptIds();
        for (int i = 0; i < ids.size(); i++) {
            for (int c = ids.count(ids.key(i)); c > 0; c--) out[k++] = ids.key(i);
        }
        return out;
    }
}
