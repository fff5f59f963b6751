package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelectionTest {
    @Test
    void nucleusEqualsSortingTheWholeVocabulary() {
        SplittableRandom r = new SplittableRandom(17);
        int n = 20_000;
        float[] x = new float[n];
        float[] wAll = new float[n];
        int[] ids = new int[n];
        float[] w = new float[n];
        long[] keys = new long[n];
        double[] mass = new double[Selection.BUCKETS];
        for (int round = 0; round < 12; round++) {
            double sigma = new double[] {0.3, 1, 3, 8}[round % 4];
            for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * sigma);
            x[r.nextInt(n)] = x[r.nextInt(n)]; // a tie
            double topP = new double[] {0.5, 0.9, 0.95, 0.999}[round / 3 % 4];
            float invT = (float) (1 / (0.3 + round * 0.1));
            float max = VectorMath.max(x, 0, n);
            double norm = VectorMath.expInto(x, n, max, invT, wAll);
            int count = Selection.nucleus(x, wAll, n, max, invT, norm, topP, ids, w, keys, mass);

            long[] all = new long[n];
            for (int i = 0; i < n; i++) all[i] = Selection.key(x[i], i);
            Arrays.sort(all);
            double cumBefore = 0;
            int expected = 0;
            while (expected < n && cumBefore < topP * norm) cumBefore += wAll[(int) all[expected++]];
            int[] want = new int[expected];
            for (int j = 0; j < expected; j++) want[j] = (int) all[j];
            int[] got = Arrays.copyOf(ids, count);
            Arrays.sort(want);
            Arrays.sort(got);
            assertArrayEquals(want, got, "round " + round);
            for (int j = 0; j < count; j++) assertEquals(wAll[ids[j]], w[j]);
        }
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
