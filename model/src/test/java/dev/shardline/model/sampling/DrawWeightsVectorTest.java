package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The vectorized row of draw weights equals {@link DrawWeights#weight} bit for bit (for logits up to the row's
 * max, or NaN, as every row's are): on random rows at many
 * temperatures, on the special values (NaN, infinities, signed zeros, the top token), on logits whose t lies just
 * around the cut-off and around integers (where floor and truncation part), and on every row length's scalar tail.
 * A weight one unit off, anywhere, fails.
 */
class DrawWeightsVectorTest {

    private static void assertRowEqual(float[] x, int n, float max, float invT, String what) {
        long[] vector = new long[n];
        DrawWeightsVector.weights(x, n, max, invT, vector);
        for (int i = 0; i < n; i++) {
            long scalar = DrawWeights.weight(x[i], max, invT);
            if (vector[i] != scalar) {
                assertEquals(scalar, vector[i], what + ": x[" + i + "] = " + x[i] + " (max " + max + ", invT " + invT + ")");
            }
        }
    }

    @Test
    void randomRowsAtManyTemperaturesEqualTheScalarRule() {
        SplittableRandom r = new SplittableRandom(7);
        for (int row = 0; row < 400; row++) {
            int n = 1 + r.nextInt(3000);
            float[] x = new float[n];
            float spread = (float) Math.exp(r.nextDouble() * 5 - 1);      // 0.4 .. 55
            for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * spread);
            float max = Float.NEGATIVE_INFINITY;
            for (float v : x) max = Math.max(max, v);
            float invT = (float) (1.0 / (0.05 + r.nextDouble() * 3));
            assertRowEqual(x, n, max, invT, "row " + row);
        }
    }

    @Test
    void specialValuesAndTheEdgesOfFloorAndTheCutOffEqualTheScalarRule() {
        float max = 2.5f;
        float invT = 1f;
        java.util.List<Float> v = new java.util.ArrayList<>(java.util.List.of(Float.NaN, Float.NEGATIVE_INFINITY,
                0f, -0f, max, Math.nextDown(max), -Float.MIN_VALUE, Float.MIN_VALUE));   // every x <= max, or NaN
        double ln2 = Math.log(2);
        for (int k = 0; k <= 43; k++) {                        // t = -k: z = -k ln 2, floor and trunc around it
            float z = (float) (-k * ln2);
            for (float zz : new float[] {z, Math.nextUp(z), Math.nextDown(z)}) v.add(zz + max);
        }
        for (float z = -29.2f; z < -29.0f; z += 0.00001f) v.add(z + max);   // around the cut-off t = -42
        float[] x = new float[v.size()];
        for (int i = 0; i < x.length; i++) x[i] = v.get(i);
        assertRowEqual(x, x.length, max, invT, "special values");
        assertRowEqual(x, x.length, max, 1.7f, "special values at 1/T = 1.7");
    }

    @Test
    void aRuleOffByOneWeightIsCaught() {
        float[] x = {0.5f, -1f, -3f, -7f, -0.25f, -2f, -11f, -0.125f, -4f};
        long[] vector = new long[x.length];
        DrawWeightsVector.weights(x, x.length, 0.5f, 1f, vector);
        long[] broken = vector.clone();
        broken[3]++;
        int differing = 0;
        for (int i = 0; i < x.length; i++) if (broken[i] != DrawWeights.weight(x[i], 0.5f, 1f)) differing++;
        assertEquals(1, differing, "the comparison sees one unit");
        assertNotEquals(0, vector[3]);
    }
}
