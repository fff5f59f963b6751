package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Draws keyed by (seed, position): the rule itself, the statistics of its stream, and what it is for: a sampler
 * created again in the middle of a sequence (recomputation, migration) continues with exactly the tokens of an
 * uninterrupted one. The continuity check is run against a sequential stream too, to show it catches that bug.
 */
class SeededDrawTest {
    private static final int VOCAB = 1000;
    private static final int[] PROMPT = {11, 12, 13, 14, 15};

    /** Logits that change with every step, as a model's do. */
    private static float[] logitsAt(int step) {
        SplittableRandom r = new SplittableRandom(1000 + step);
        float[] x = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) x[i] = (float) (r.nextGaussian() * 2);
        return x;
    }

    /** Generates n tokens after prompt + already, with a sampler made by the factory. */
    private static int[] generate(Function<SamplingParams, Sampler> factory, SamplingParams p, int[] already, int n) {
        Sampler s = factory.apply(p);
        TokenHistory h = TokenHistory.ofPrompt(PROMPT);
        for (int t : already) h.addGenerated(t);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = s.sample(logitsAt(already.length + i), 0, VOCAB, h).id();
        return out;
    }

    /** For every cut, a new sampler given prompt + the tokens before the cut continues with the same tokens. */
    private static void assertRecreatedSamplersContinue(Function<SamplingParams, Sampler> factory) {
        int n = 48;
        for (SamplingParams p : new SamplingParams[] {SamplingParams.defaults().withSeed(42L),
                SamplingParams.qwqRecommended().withMinP(0.02).withPenalties(0.2, 0.1, 1.1).withSeed(-7L)}) {
            int[] whole = generate(factory, p, new int[0], n);
            for (int cut : new int[] {1, 5, 17, 30, 47}) {
                int[] resumed = generate(factory, p, Arrays.copyOf(whole, cut), n - cut);
                assertArrayEquals(Arrays.copyOfRange(whole, cut, n), resumed, "resumed after " + cut + " tokens, " + p);
            }
        }
    }

    @Test
    void aSamplerCreatedAgainMidSequenceContinuesWithTheSameTokens() {
        assertRecreatedSamplersContinue(Sampler::new);
    }

    @Test
    void aSequentialStreamWouldFailTheContinuityCheck() {
        // the broken variant: one SplittableRandom per sampler, a draw per call, whatever the position
        Function<SamplingParams, Sampler> sequential = p -> new Sampler(p, new Sampler.DrawRule() {
            private SplittableRandom stream;

            @Override
            public double uniform(long seed, long position) {
                if (stream == null) stream = new SplittableRandom(seed);
                return stream.nextDouble();
            }
        });
        assertThrows(AssertionFailedError.class, () -> assertRecreatedSamplersContinue(sequential));
    }

    @Test
    void theDrawIsTheSplittableRandomStreamAtThePosition() {
        for (long seed : new long[] {0, 1, 42, -1, Long.MIN_VALUE, 0x9E3779B97F4A7C15L}) {
            SplittableRandom r = new SplittableRandom(seed);
            for (int p = 0; p < 1000; p++) {
                assertEquals(r.nextDouble(), SeededDraw.uniform(seed, p), "seed " + seed + " position " + p);
            }
        }
        assertEquals(SeededDraw.uniform(5, 123_456_789L), SeededDraw.uniform(5, 123_456_789L));
    }

    @Test
    void drawsAtDifferentPositionsAreUniformAndIndependent() {
        int n = 200_000;
        int bins = 10;
        int[] single = new int[bins];
        int[][] pairs = new int[bins][bins];   // (u at p, u at p + 1)
        double sum = 0;
        double sumXY = 0;
        double sumSq = 0;
        double prev = SeededDraw.uniform(77, 0);
        for (int p = 1; p <= n; p++) {
            double u = SeededDraw.uniform(77, p);
            assertTrue(u >= 0 && u < 1, "u " + u);
            single[(int) (u * bins)]++;
            pairs[(int) (prev * bins)][(int) (u * bins)]++;
            sum += u;
            sumSq += u * u;
            sumXY += prev * u;
            prev = u;
        }
        double mean = sum / n;
        double variance = sumSq / n - mean * mean;
        double lag1 = (sumXY / n - mean * mean) / variance;
        assertEquals(0.5, mean, 0.005);
        assertEquals(1.0 / 12, variance, 0.002);
        assertEquals(0, lag1, 0.01, "neighbouring positions are uncorrelated");
        assertTrue(chiSquare(single, n) < 27.9, "uniform over 10 bins (9 df, p = 0.001)");
        int[] flat = Arrays.stream(pairs).flatMapToInt(Arrays::stream).toArray();
        assertTrue(chiSquare(flat, n) < 148.2, "pairs uniform over 10 x 10 bins (99 df, p = 0.001)");

        // seeds next to each other give unrelated draws at the same position
        int agree = 0;
        for (long seed = 0; seed < 10_000; seed++) {
            if ((int) (SeededDraw.uniform(seed, 50) * bins) == (int) (SeededDraw.uniform(seed + 1, 50) * bins)) agree++;
        }
        assertEquals(0.1, agree / 10_000.0, 0.015);
    }

    @Test
    void theSameSeedGivesTheSameTokensAndOtherPositionsOtherTokens() {
        float[] logits = logitsAt(0);
        SamplingParams p = SamplingParams.defaults().withSeed(9L);
        Sampler a = new Sampler(p);
        Sampler b = new Sampler(p);
        int[] fromA = new int[200];
        TokenHistory ha = TokenHistory.ofPrompt(new int[0]);
        TokenHistory hb = TokenHistory.ofPrompt(new int[0]);
        for (int i = 0; i < fromA.length; i++) {
            fromA[i] = a.choose(logits, 0, VOCAB, ha).id();
            assertEquals(fromA[i], b.choose(logits, 0, VOCAB, hb).id(), "choose draws at the history's length");
            assertEquals(fromA[i], a.choose(logits, 0, VOCAB, ha).id(), "and records nothing");
            ha.addGenerated(fromA[i]);
            hb.addGenerated(fromA[i]);
        }
        assertTrue(Arrays.stream(fromA).distinct().count() > 50, "the same logits at 200 positions give many tokens");
    }

    @Test
    void aSamplerWithoutSeedPicksOneOnceAndKeepsIt() {
        Sampler s = new Sampler(SamplingParams.defaults());
        long seed = s.seed();
        float[] logits = logitsAt(3);
        int first = s.choose(logits, 0, VOCAB, TokenHistory.ofPrompt(PROMPT)).id();
        assertEquals(seed, s.seed());
        assertEquals(first, s.choose(logits, 0, VOCAB, TokenHistory.ofPrompt(PROMPT)).id());
        assertEquals(first, new Sampler(SamplingParams.defaults().withSeed(seed))
                .choose(logits, 0, VOCAB, TokenHistory.ofPrompt(PROMPT)).id());
        assertFalse(new Sampler(SamplingParams.defaults()).seed() == seed
                && new Sampler(SamplingParams.defaults()).seed() == seed, "fresh samplers pick fresh seeds");
    }

    private static double chiSquare(int[] counts, int n) {
        double expected = (double) n / counts.length;
        double chi = 0;
        for (int c : counts) chi += (c - expected) * (c - expected) / expected;
        return chi;
    }
}
