package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The draw weights: the top token weighs exactly 2^42, weights never decrease with the logit, and they follow
 * 2^42 exp(z) within {@link DrawWeights#RELATIVE_ERROR} plus the truncation's 1; a polynomial one degree short or
 * without its linear term breaks that bound.
 */
class DrawWeightsTest {
    private static final double TOP = 0x1p42;

    @Test
    void theTopTokenWeighsExactly2To42() {
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 10_000; i++) {
            float max = (float) (r.nextGaussian() * 30);
            float invT = (float) (1.0 / (0.01 + r.nextDouble() * 5));
            assertEquals(DrawWeights.TOP, DrawWeights.weight(max, max, invT), "max " + max + " invT " + invT);
        }
        assertEquals(1L << 42, DrawWeights.weightOf(0f));
        assertEquals(1L << 42, DrawWeights.weightOf(-0f));
    }

    @Test
    void cutOffNanAndInfinityWeighNothing() {
        assertEquals(0, DrawWeights.weightOf(Float.NaN));
        assertEquals(0, DrawWeights.weightOf(Float.NEGATIVE_INFINITY));
        assertEquals(0, DrawWeights.weightOf(-30f));
        assertEquals(0, DrawWeights.weight(Float.NEGATIVE_INFINITY, 3f, 1f));
        assertTrue(DrawWeights.weightOf(-29.1f) > 0, "2^-41.98 of the top is still weighed");
    }

    @Test
    void theShortcutNeverChangesAWeight() {
        // every float from -29.2 to -29.0: the shortcut below -29.1122 agrees with the full rule
        for (float z = -29.2f; z <= -29.0f; z = Math.nextUp(z)) {
            assertEquals(DrawWeights.weightOf(z, DrawWeights.COEFFICIENTS), DrawWeights.weightOf(z), "z " + z);
        }
    }

    @Test
    void weightsNeverDecreaseWithTheLogit() {
        SplittableRandom r = new SplittableRandom(2);
        float[] z = new float[200_000];
        for (int i = 0; i < z.length; i++) z[i] = (float) (-r.nextDouble() * 30);
        for (int i = 0; i < 2000; i++) z[i] = -Math.ulp(1f) * i;              // next to 0: f rounds up to 1
        for (int i = 2000; i < 4000; i++) z[i] = Math.nextDown(-(float) ((i - 2000) % 29 / DrawWeights.LOG2E));
        Arrays.sort(z);
        long previous = -1;
        for (float v : z) {
            long w = DrawWeights.weightOf(v);
            assertTrue(w >= previous, "weight " + w + " at z " + v + " below " + previous);
            assertTrue(w <= DrawWeights.TOP, "weight " + w + " at z " + v);
            previous = w;
        }
        // across the power-of-two steps, where k changes and f wraps around
        for (int k = 0; k < 42; k++) {
            float at = (float) (-k / DrawWeights.LOG2E);
            for (float v = Math.nextDown(Math.nextDown(at)); v <= Math.nextUp(Math.nextUp(at)); v = Math.nextUp(v)) {
                assertTrue(DrawWeights.weightOf(Math.nextUp(v)) >= DrawWeights.weightOf(v), "z " + v);
            }
        }
    }

    @Test
    void weightsFollowTheExponentialWithinTheBound() {
        assertTrue(worstExcess(DrawWeights.COEFFICIENTS) <= 0, "within the bound");
    }

    @Test
    void aPolynomialOneDegreeShortOrWithoutItsLinearTermBreaksTheBound() {
        double[] short11 = Arrays.copyOf(DrawWeights.COEFFICIENTS, 12);
        double[] noLinear = DrawWeights.COEFFICIENTS.clone();
        noLinear[1] = 0;
        assertTrue(worstExcess(short11) > 0, "degree 11 is caught");
        assertTrue(worstExcess(noLinear) > 0, "a missing f term is caught");
    }

    /**
     * The largest |w - 2^42 exp(z)| - (RELATIVE_ERROR x 2^42 exp(z) + 1) over many z (<= 0 when the bound holds),
     * including z just below each -k ln 2, where f comes close to 1 and the polynomial's remainder peaks.
     */
    private static double worstExcess(double[] c) {
        SplittableRandom r = new SplittableRandom(3);
        double worst = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < 400_000; i++) {
            float z = i < 42 * 50 ? (float) (-(i / 50) / DrawWeights.LOG2E) - (i % 50 + 1) * 2e-6f
                    : (float) (-r.nextDouble() * 29.1);
            long w = DrawWeights.weightOf(z, c);
            double exact = TOP * Math.exp(z);
            worst = Math.max(worst, Math.abs(w - exact) - (DrawWeights.RELATIVE_ERROR * exact + 1));
        }
        return worst;
    }
}
