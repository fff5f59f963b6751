package dev.shardline.coordinator.metrics;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BucketQuantilesTest {
    static final double[] BOUNDS = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, Double.POSITIVE_INFINITY};

    @Test
    void interpolatesInsideTheBucketThatHoldsTheRank() {
        long[] counts = {0, 10, 10, 0, 0, 0, 0, 0};                  // 10 in (0.01, 0.02], 10 in (0.02, 0.05]
        assertEquals(0.02, BucketQuantiles.quantile(BOUNDS, counts, 0.5), 1e-12);
        assertEquals(0.015, BucketQuantiles.quantile(BOUNDS, counts, 0.25), 1e-12);
        assertEquals(0.02 + 0.03 * 0.8, BucketQuantiles.quantile(BOUNDS, counts, 0.9), 1e-12);
        assertEquals(0, BucketQuantiles.quantile(BOUNDS, new long[BOUNDS.length], 0.5));
        long[] slow = {0, 0, 0, 0, 0, 0, 1, 3};                       // most past the last finite bound
        assertEquals(1.0, BucketQuantiles.quantile(BOUNDS, slow, 0.9));
    }

    @Test
    void agreesWithTheExactQuantileToTheBucketWidth() {
        SplittableRandom r = new SplittableRandom(3);
        double[] xs = new double[5000];
        long[] counts = new long[BOUNDS.length];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = Math.exp(r.nextDouble(Math.log(0.005), Math.log(0.9)));
            int b = 0;
            while (xs[i] > BOUNDS[b]) b++;
            counts[b]++;
        }
        Arrays.sort(xs);
        for (double q : new double[]{0.1, 0.5, 0.9, 0.99}) {
            double exact = xs[(int) (q * xs.length)];
            double est = BucketQuantiles.quantile(BOUNDS, counts, q);
            int b = 0;
            while (exact > BOUNDS[b]) b++;
            double lower = b == 0 ? 0 : BOUNDS[b - 1];
            assertTrue(est >= lower - 1e-12 && est <= BOUNDS[b] + 1e-12, q + ": " + est + " outside the exact value's bucket ("
                    + lower + ", " + BOUNDS[b] + "], exact " + exact);
        }
    }
}
