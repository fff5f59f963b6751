package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Top log-probs against a brute-force sort of the raw log-softmax, and logit bias in vLLM's order. */
class LogprobsAndBiasTest {
    private static float[] randomLogits(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 3);
        return x;
    }

    /** The n most likely ids of row [offset, offset + vocab) by sorting everything, with exact log-softmax values. */
    private static List<double[]> bruteForceTop(float[] logits, int offset, int vocab, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
        double logZ = max + Math.log(sum);
        Integer[] ids = new Integer[vocab];
        for (int i = 0; i < vocab; i++) ids[i] = i;
        Arrays.sort(ids, Comparator.<Integer>comparingDouble(i -> -logits[offset + i]).thenComparingInt(i -> i));
        return Arrays.stream(ids).limit(n).map(i -> new double[] {i, logits[offset + i] - logZ}).toList();
    }

    private static void assertTop(List<double[]> expected, SampledToken t) {
        assertEquals(expected.size(), t.topLogprobs().size());
        for (int j = 0; j < expected.size(); j++) {
            TokenLogprob got = t.topLogprobs().get(j);
            assertEquals((int) expected.get(j)[0], got.id(), "rank " + j);
            assertEquals(expected.get(j)[1], got.logprob(), 1e-4, "rank " + j);
        }
    }

    @Test
    void topLogprobsAreTheRawLogSoftmaxSortedWithTiesByLowerId() {
        int vocab = 152064;
        float[] batch = new float[2 * vocab];
        float[] row = randomLogits(vocab, 8);
        System.arraycopy(row, 0, batch, vocab, vocab);
        batch[vocab + 90_000] = 14f;   // a tie at the top: 1234 ranks first
        batch[vocab + 1234] = 14f;
        batch[vocab + 777] = 12.5f;
        batch[vocab + 5] = 12.5f;      // a tie further down
        for (int n : new int[] {1, 3, 20}) {
            // whatever the sampling settings, the log-probs are the model's own distribution
            for (SamplingParams p : List.of(SamplingParams.greedy(), SamplingParams.qwqRecommended().withSeed(3L),
                    SamplingParams.defaults().withTemperature(0.3).withPenalties(1, 1, 1.5).withSeed(4L)
                            .withLogitBias(Map.of(42, 100f, 1234, -100f)))) {
                TokenHistory h = TokenHistory.ofPrompt(new int[] {1234, 5, 42});
                SampledToken t = new Sampler(p.withTopLogprobs(n)).sample(batch, vocab, vocab, h);
                List<double[]> expected = bruteForceTop(batch, vocab, vocab, n);
                assertTop(expected, t);
                double exact = bruteForceTop(batch, vocab, vocab, vocab).stream().filter(e -> e[0] == t.id())
                        .findFirst().orElseThrow()[1];
                assertEquals(exact, t.logprob(), 1e-4, "the sampled token's own log-prob is raw too");
            }
        }
        assertEquals(1234, bruteForceTop(batch, vocab, vocab, 1).getFirst()[0]);
    }

    @Test
    void randomRowsMatchTheBruteForceSort() {
        SplittableRandom r = new SplittableRandom(99);
        for (int trial = 0; trial < 50; trial++) {
            int vocab = 1 + r.nextInt(3000);
            float[] logits = randomLogits(vocab, trial);
            for (int i = 0; i < vocab / 10; i++) logits[r.nextInt(vocab)] = logits[r.nextInt(vocab)]; // ties
            int n = Math.min(vocab, 1 + r.nextInt(SamplingParams.MAX_TOP_LOGPROBS));
            SampledToken t = new Sampler(SamplingParams.defaults().withSeed((long) trial).withTopLogprobs(n))
                    .sample(logits, 0, vocab, TokenHistory.ofPrompt(new int[0]));
            assertTop(bruteForceTop(logits, 0, vocab, n), t);
        }
    }

    @Test
    void aForcedTokenGetsItsRawLogprobAndTheAlternatives() {
        float[] logits = randomLogits(500, 12);
        Sampler s = new Sampler(SamplingParams.greedy().withTopLogprobs(4));
        SampledToken forced = s.score(321, logits, 0, 500);
        assertEquals(321, forced.id());
        double exact = bruteForceTop(logits, 0, 500, 500).stream().filter(e -> e[0] == 321).findFirst().orElseThrow()[1];
        assertEquals(exact, forced.logprob(), 1e-4);
        assertTop(bruteForceTop(logits, 0, 500, 4), forced);
        assertEquals(List.of(), new Sampler(SamplingParams.greedy()).score(3, logits, 0, 500).topLogprobs(),
                "no alternatives unless asked for");
    }

    @Test
    void biasSteersGreedyAndSampledChoicesButNotTheLogprobs() {
        float[] logits = randomLogits(1000, 21);
        int best = Sampler.argmax(logits, 1000);
        int low = best == 0 ? 1 : 0;
        SampledToken plain = new Sampler(SamplingParams.greedy()).choose(logits, 0, 1000, TokenHistory.ofPrompt(new int[0]));
        SampledToken pushed = new Sampler(SamplingParams.greedy().withLogitBias(Map.of(low, 100f)))
                .choose(logits, 0, 1000, TokenHistory.ofPrompt(new int[0]));
        assertEquals(best, plain.id());
        assertEquals(low, pushed.id(), "+100 all but forces a token");
        assertEquals(new Sampler(SamplingParams.greedy()).score(low, logits, 0, 1000).logprob(), pushed.logprob(),
                "the log-prob is the model's, before the bias");
        SampledToken banned = new Sampler(SamplingParams.greedy().withLogitBias(Map.of(best, -100f, 5000, 3f)))
                .choose(logits, 0, 1000, TokenHistory.ofPrompt(new int[0]));
        assertNotEquals(best, banned.id(), "-100 bans it; an id beyond the vocabulary is ignored");

        // sampled: a banned token is never drawn, over many positions
        float[] flat = new float[8];
        Sampler s = new Sampler(SamplingParams.defaults().withSeed(5L).withLogitBias(Map.of(3, -100f, 6, -100f)));
        TokenHistory h = TokenHistory.ofPrompt(new int[0]);
        int[] counts = new int[8];
        for (int i = 0; i < 4000; i++) counts[s.sample(flat, 0, 8, h).id()]++;
        assertEquals(0, counts[3] + counts[6]);
        for (int id : new int[] {0, 1, 2, 4, 5, 7}) assertEquals(1 / 6.0, counts[id] / 4000.0, 0.03, "token " + id);
    }

    @Test
    void biasComesBeforeTheRepetitionPenalty() {
        // token 0 is in the prompt (repetition 2), logit 2 with bias +2; token 1 has logit 2.5.
        // bias then penalty: (2 + 2) / 2 = 2 < 2.5 -> token 1. Penalty then bias would give 1 + 2 = 3 -> token 0.
        float[] logits = {2f, 2.5f, -5f};
        SamplingParams p = SamplingParams.greedy().withPenalties(0, 0, 2.0).withLogitBias(Map.of(0, 2f));
        assertEquals(1, new Sampler(p).choose(logits, 0, 3, TokenHistory.ofPrompt(new int[] {0})).id());
        // and before the temperature: with T = 0.5 the biased token dominates the draw
        float[] two = {0f, 1f};
        Sampler hot = new Sampler(SamplingParams.defaults().withTemperature(0.5).withSeed(1L).withLogitBias(Map.of(0, 3f)));
        TokenHistory h = TokenHistory.ofPrompt(new int[0]);
        int zeros = 0;
        for (int i = 0; i < 4000; i++) if (hot.sample(two, 0, 2, h).id() == 0) zeros++;
        double expected = 1 / (1 + Math.exp((1 - 3) / 0.5));   // softmax((0 + 3) / T, 1 / T)[0]
        assertEquals(expected, zeros / 4000.0, 0.02);
        assertTrue(expected > 0.95);
    }
}
