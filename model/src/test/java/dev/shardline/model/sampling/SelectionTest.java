package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelectionTest {
    @Test
    void nucleusDrawEqualsSortingTheWholeVocabulary() {
        SplittableRandom r = new SplittableRandom(17);
        int n = 152_064;
        float[] x = new float[n];
        for (int round = 0; round < 12; round++) {
            double sigma = new double[] {0.3, 1, 3, 8}[round % 4];
            for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * sigma);
            x[r.nextInt(n)] = x[r.nextInt(n)]; // a tie
            double topP = new double[] {0.5, 0.9, 0.95, 0.999}[round / 3 % 4];
            SamplingParams p = SamplingParams.defaults().withTemperature(0.3 + round * 0.1).withTopP(topP)
                    .withMinP(round % 2 == 0 ? 0 : 0.001);
            double u = r.nextDouble();
            int got = new Sampler(p, (seed, position) -> u).choose(x, 0, n, TokenHistory.ofPrompt(new int[0])).id();
            assertEquals(DrawSimulation.reference(x, n, p, u), got, "round " + round);
        }
    }

    @Test
    void bucketsAndWeightKeysFollowTheWeights() {
        SplittableRandom r = new SplittableRandom(5);
        long[] w = new long[100_000];
        for (int i = 0; i < w.length; i++) w[i] = 1 + (r.nextLong() >>> (21 + r.nextInt(42)));
        w[0] = DrawWeights.TOP;
        w[1] = 1;
        Arrays.sort(w);
        for (int i = 1; i < w.length; i++) {
            assertTrue(Selection.bucket(w[i]) <= Selection.bucket(w[i - 1]), "bucket of " + w[i]);
            assertTrue(Selection.weightKey(w[i], 4) <= Selection.weightKey(w[i - 1], 4), "key of " + w[i]);
            assertEquals(w[i], Selection.weightOfKey(Selection.weightKey(w[i], 1 << 19)));
        }
        assertEquals(0, Selection.bucket(DrawWeights.TOP * 2 - 1), "the heaviest bucket");
        assertTrue(Selection.bucket(1) < Selection.BUCKETS);
        assertTrue(Selection.weightKey(7, 3) < Selection.weightKey(7, 4), "lower id first on ties");
    }

    @Test
    void keyOrdersByValueDescendingThenId() {
        float[] values = {-Float.MAX_VALUE, -1f, -0.5f, 0f, 1e-30f, 0.5f, 2f, Float.POSITIVE_INFINITY};
        for (int i = 1; i < values.length; i++) {
            assertTrue(Selection.key(values[i], 99) < Selection.key(values[i - 1], 0), "at " + values[i]);
        }
        assertTrue(Selection.key(1f, 3) < Selection.key(1f, 4));
        assertEquals(12345, (int) Selection.key(-7f, 12345));
    }

    @Test
    void vectorMathMatchesScalar() {
        float[] a = new float[1037];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian() * 4;
        double scalar = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 5; i < a.length; i++) max = Math.max(max, a[i]);
        for (int i = 5; i < a.length; i++) scalar += Math.exp((a[i] - max) * 0.5);
        assertEquals(max, VectorMath.max(a, 5, a.length - 5));
        assertEquals(scalar, VectorMath.sumExp(a, 5, a.length - 5, max, 0.5f), scalar * 1e-6);
    }
}
