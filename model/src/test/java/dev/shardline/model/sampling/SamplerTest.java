package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private static float[] randomLogits(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 3);
        return x;
    }

    private static int[] run(SamplingParams p, float[] logits, int steps) {
        Sampler s = new Sampler(p);
        TokenHistory h = TokenHistory.ofPrompt(new int[] {1, 2, 3});
        int[] out = new int[steps];
        for (int i = 0; i < steps; i++) out[i] = s.sample(logits, 0, logits.length, h).id();
        return out;
    }

    @Test
    void greedyPicksArgmaxWithLowestIdOnTiesAndLeavesLogitsAlone() {
        float[] logits = {0.5f, 3f, -1f, 3f, 2f};
        float[] copy = logits.clone();
        SampledToken t = new Sampler(SamplingParams.greedy()).sample(logits, 0, 5, TokenHistory.ofPrompt(new int[0]));
        assertEquals(1, t.id());
        assertArrayEquals(copy, logits);
        double z = 0;
        for (float v : logits) z += Math.exp(v);
        assertEquals(3 - Math.log(z), t.logprob(), 1e-5);
    }

    @Test
    void offsetSelectsTheRow() {
        float[] batch = {9f, 0f, 0f, 0f, 0f, 7f};  // two rows of 3
        TokenHistory h = TokenHistory.ofPrompt(new int[0]);
        assertEquals(2, new Sampler(SamplingParams.greedy()).sample(batch, 3, 3, h).id());
        assertEquals(1, h.generatedCount());
        assertArrayEquals(new int[] {2}, h.generated());
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        float[] logits = randomLogits(1000, 1);
        SamplingParams p = SamplingParams.defaults().withSeed(42L);
        int[] a = run(p, logits, 64);
        int[] b = run(p, logits, 64);
        int[] c = run(p.withSeed(43L), logits, 64);
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
        // the same holds through the top-k / top-p / min-p paths
        SamplingParams q = SamplingParams.qwqRecommended().withMinP(0.01).withSeed(7L);
        assertArrayEquals(run(q, logits, 64), run(q, logits, 64));
        assertFalse(Arrays.equals(run(q, logits, 64), run(q.withSeed(8L), logits, 64)));
    }

    @Test
    void topKOneEqualsGreedy() {
        float[] logits = randomLogits(5000, 2);
        int greedy = Sampler.argmax(logits, logits.length);
        Sampler s = new Sampler(SamplingParams.defaults().withTopK(1).withTemperature(2.0).withSeed(1L));
        for (int i = 0; i < 20; i++) {
            assertEquals(greedy, s.sample(logits, 0, logits.length, TokenHistory.ofPrompt(new int[0])).id());
        }
    }

    @Test
    void topKKeepsOnlyTheKBest() {
        float[] logits = randomLogits(2000, 3);
        long[] keys = new long[logits.length];
        int n = Selection.selectTopK(logits, logits.length, 5, keys);
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Float.compare(logits[y], logits[x]));
        assertEquals(5, n);
        for (int j = 0; j < 5; j++) assertEquals(order[j].intValue(), (int) keys[j]);
        Sampler s = new Sampler(SamplingParams.defaults().withTopK(5).withTemperature(5.0).withSeed(9L));
        TokenHistory h = TokenHistory.ofPrompt(new int[0]);
        for (int i = 0; i < 200; i++) {
            int id = s.sample(logits, 0, logits.length, h).id();
            assertTrue(Arrays.asList(order).subList(0, 5).contains(id), "token " + id);
        }
    }

    @Test
    void smallTopPKeepsOnlyTheTopToken() {
        float[] logits = randomLogits(152064, 4); // the QwQ vocabulary size
        int greedy = Sampler.argmax(logits, logits.length);
        Sampler s = new Sampler(SamplingParams.defaults().withTopP(1e-6).withSeed(3L));
        for (int i = 0; i < 10; i++) {
            assertEquals(greedy, s.sample(logits, 0, logits.length, TokenHistory.ofPrompt(new int[0])).id());
        }
    }

    @Test
    void topPKeepsTheTokenThatCrossesTheThreshold() {
        // probabilities 0.5, 0.3, 0.15, 0.05 (ids 2, 0, 3, 1); top_p 0.7 keeps {2, 0}: 0.5 < 0.7, 0.8 >= 0.7
        float[] logits = {(float) Math.log(0.3), (float) Math.log(0.05), (float) Math.log(0.5), (float) Math.log(0.15)};
        int[] counts = histogram(SamplingParams.defaults().withTopP(0.7).withSeed(5L), logits, 4000);
        assertEquals(0, counts[1]);
        assertEquals(0, counts[3]);
        assertEquals(0.5 / 0.8, counts[2] / 4000.0, 0.03);
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheTop() {
        // relative weights 1, 0.5, 0.09, 0.2 -> min_p 0.1 drops id 2 only
        float[] logits = {0f, (float) Math.log(0.5), (float) Math.log(0.09), (float) Math.log(0.2)};
        int[] counts = histogram(SamplingParams.defaults().withMinP(0.1).withSeed(11L), logits, 6000);
        assertEquals(0, counts[2]);
        assertEquals(1 / 1.7, counts[0] / 6000.0, 0.03);
        assertTrue(counts[3] > 0);
    }

    @Test
    void temperatureOneMatchesSoftmax() {
        float[] logits = {1.0f, 2.0f, 0.5f, -1.0f};
        double z = 0;
        for (float v : logits) z += Math.exp(v);
        int draws = 20_000;
        int[] counts = histogram(SamplingParams.defaults().withSeed(2024L), logits, draws);
        for (int i = 0; i < 4; i++) {
            assertEquals(Math.exp(logits[i]) / z, counts[i] / (double) draws, 0.02, "token " + i);
        }
    }

    @Test
    void penaltiesMatchHandComputedValues() {
        // prompt {0}, generated 1, 1, 3; r = 2, frequency 0.5, presence 0.25
        TokenHistory h = TokenHistory.ofPrompt(new int[] {0, 0, 7});
        h.addGenerated(1);
        h.addGenerated(1);
        h.addGenerated(3);
        float[] x = {2f, -1f, 0.5f, 3f};
        Sampler.applyPenalties(x, 4, h, SamplingParams.defaults().withPenalties(0.25, 0.5, 2.0));
        // 0: prompt, 2 > 0 -> 1;  1: -1 * 2 = -2, -0.5 * 2, -0.25 -> -3.25;  2: untouched;  3: 3 / 2 - 0.5 - 0.25
        assertArrayEquals(new float[] {1f, -3.25f, 0.5f, 0.75f}, x);

        float[] onlyRepetition = {2f, -1f, 0.5f, 3f};
        Sampler.applyPenalties(onlyRepetition, 4, h, SamplingParams.defaults().withPenalties(0, 0, 2.0));
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 1.5f}, onlyRepetition);

        float[] onlyPresence = {2f, -1f, 0.5f, 3f};
        Sampler.applyPenalties(onlyPresence, 4, h, SamplingParams.defaults().withPenalties(1.5, 0, 1.0));
        assertArrayEquals(new float[] {2f, -2.5f, 0.5f, 1.5f}, onlyPresence);

        float[] onlyFrequency = {2f, -1f, 0.5f, 3f};
        Sampler.applyPenalties(onlyFrequency, 4, h, SamplingParams.defaults().withPenalties(0, 1.0, 1.0));
        assertArrayEquals(new float[] {2f, -3f, 0.5f, 2f}, onlyFrequency);

        // greedy after penalties: token 3 (raw best) loses to token 0
        float[] logits = {2f, -1f, 0.5f, 3f};
        SampledToken t = new Sampler(SamplingParams.greedy().withPenalties(0.25, 0.5, 2.0)).sample(logits, 0, 4, h);
        assertEquals(0, t.id());
        assertEquals(4, h.outputCount(1) + h.outputCount(3) + h.outputCount(0));
    }

    @Test
    void historyCountsDistinctTokens() {
        TokenHistory h = TokenHistory.ofPrompt(new int[] {5, 5, 151000});
        for (int i = 0; i < 1000; i++) h.addGenerated(i % 37);
        assertEquals(3, h.promptLength());
        assertEquals(1000, h.generatedCount());
        assertEquals(28, h.outputCount(0)); // 0, 37, ..., 999 -> 28 times
        assertEquals(27, h.outputCount(36));
        assertEquals(0, h.outputCount(5000));
        assertTrue(h.seen(151000));
        assertTrue(h.seen(36));
        assertFalse(h.seen(37));
        assertEquals(37, h.outputIds().size());
        assertEquals(2, h.promptIds().size());
    }

    @Test
    void largeVocabularyDrawsAreReproducibleAndStayInTheTopK() {
        // (speed is the benchmark's business, not a test's: a timed assertion fails on a busy machine)
        float[] logits = randomLogits(152064, 5);
        float[] sorted = logits.clone();
        java.util.Arrays.sort(sorted);
        int k = SamplingParams.qwqRecommended().topK();
        float kth = sorted[sorted.length - k];
        TokenHistory h1 = TokenHistory.ofPrompt(new int[0]);
        TokenHistory h2 = TokenHistory.ofPrompt(new int[0]);
        Sampler a = new Sampler(SamplingParams.qwqRecommended().withSeed(1L));
        Sampler b = new Sampler(SamplingParams.qwqRecommended().withSeed(1L));
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < 100; i++) {
            int x = a.sample(logits, 0, logits.length, h1).id();
            assertEquals(x, b.sample(logits, 0, logits.length, h2).id(), "same seed, same position, same token");
            assertTrue(logits[x] >= kth, "token " + x + " is outside the top " + k);
            seen.add(x);
        }
        assertTrue(seen.size() > 1, "sampling, not argmax: " + seen);
    }

    /** Draws at positions 0 .. draws-1 (the history grows; no penalties are on, so the logits stay the same). */
    private static int[] histogram(SamplingParams p, float[] logits, int draws) {
        Sampler s = new Sampler(p);
        TokenHistory h = TokenHistory.ofPrompt(new int[0]);
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[s.sample(logits, 0, logits.length, h).id()]++;
        }
        return counts;
    }
}
