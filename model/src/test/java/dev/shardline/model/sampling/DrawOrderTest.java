package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The drawn token does not depend on the order in which weights are added: the Sampler, a literal sort-based
 * reading of its rule and the CUDA kernel's order (per-thread chunks and block scans) pick the same token for
 * thousands of random rows, seeds, temperatures and top-k / top-p / min-p settings; with the former float weights
 * the kernel's order and a sequential sum disagree on some of the same rows.
 */
class DrawOrderTest {
    /** A random row, settings and draw. */
    record Row(float[] x, SamplingParams p, double u) {
    }

    static Row randomRow(SplittableRandom r, boolean denseOrTopK) {
        int n = r.nextInt(8) == 0 ? 20_000 + r.nextInt(30_000) : 2 + r.nextInt(5000);
        double sigma = new double[] {0.3, 1, 3, 8}[r.nextInt(4)];
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * sigma);
        for (int t = r.nextInt(4); t > 0; t--) x[r.nextInt(n)] = x[r.nextInt(n)];        // ties
        if (r.nextInt(10) == 0) x[r.nextInt(n)] = Float.NEGATIVE_INFINITY;
        SamplingParams p = SamplingParams.defaults().withTemperature(0.05 + r.nextDouble() * 2);
        int kind = r.nextInt(denseOrTopK ? 2 : 3);
        if (kind == 0) {                                                                   // top-k, maybe top-p
            int k = 1 + r.nextInt(Math.min(DrawSimulation.THREADS, n));
            p = p.withTopK(k);
            if (r.nextBoolean()) p = p.withTopP(0.2 + r.nextDouble() * 0.79);
        } else if (kind == 2) {
            p = p.withTopP(0.05 + r.nextDouble() * 0.94);                                // nucleus without top-k
        }
        if (r.nextInt(3) == 0) p = p.withMinP(r.nextDouble() * r.nextDouble() * 0.5);
        double u = SeededDraw.uniform(r.nextLong(), r.nextInt(1 << 20));
        return new Row(x, p, u);
    }

    static int sampler(Row row) {
        return new Sampler(row.p(), (seed, position) -> row.u()).choose(row.x(), 0, row.x().length,
                TokenHistory.ofPrompt(new int[0])).id();
    }

    @Test
    void theSamplerTheReferenceAndTheKernelsOrderPickTheSameToken() {
        SplittableRandom r = new SplittableRandom(2026);
        int distinctFromArgmax = 0;
        for (int i = 0; i < 3000; i++) {
            Row row = randomRow(r, true);
            int want = sampler(row);
            String what = "row " + i + " (" + row.x().length + " tokens, " + row.p() + ", u " + row.u() + ")";
            assertEquals(want, DrawSimulation.reference(row.x(), row.x().length, row.p(), row.u()), what);
            assertEquals(want, DrawSimulation.deviceOrder(row.x(), row.x().length, row.p(), row.u(),
                    DrawSimulation.THREADS), what);
            if (want != Sampler.argmax(row.x(), row.x().length)) distinctFromArgmax++;
        }
        assertTrue(distinctFromArgmax > 1000, "the rows sample, not argmax: " + distinctFromArgmax);
    }

    @Test
    void withoutTopKTheSamplersNucleusEqualsSortingTheVocabulary() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 1500; i++) {
            Row row = randomRow(r, false);
            assertEquals(DrawSimulation.reference(row.x(), row.x().length, row.p(), row.u()), sampler(row),
                    "row " + i + " (" + row.x().length + " tokens, " + row.p() + ", u " + row.u() + ")");
        }
    }

    @Test
    void floatWeightsAddedInTheKernelsOrderPickOtherTokensOnSomeRows() {
        SplittableRandom r = new SplittableRandom(2026);
        int differ = 0;
        for (int i = 0; i < 3000; i++) {
            Row row = randomRow(r, true);
            int sequential = DrawSimulation.deviceOrderFloat(row.x(), row.x().length, row.p(), row.u(), 1);
            int kernel = DrawSimulation.deviceOrderFloat(row.x(), row.x().length, row.p(), row.u(),
                    DrawSimulation.THREADS);
            if (sequential != kernel) differ++;
        }
        assertTrue(differ > 0, "float sums depend on their order, so the comparison above can fail");
    }

    /** The worker's DeviceDrawsTest and CudaSamplingTest hold the device to these same rows and tokens. */
    @Test
    void targetsOnACumulativeBoundaryTakeTheNextTokenAndTopPStopsAtItsLimit() {
        float[] equal = {2f, 2f, 2f, 2f, -50f};                  // four weights of exactly 2^42, one cut off
        SamplingParams dense = SamplingParams.defaults();
        for (int k = 0; k < 4; k++) {                            // target = k x 2^42: the cumulative weight of k tokens
            assertDraw(k, equal, dense, k / 4.0);
        }
        assertDraw(1, equal, dense.withTopK(2), 0.5);            // target 2^42 of 2^43
        assertDraw(0, equal, dense.withTopK(2), Math.nextDown(0.5));
        // top-p 0.5 of 4 x 2^42: cumBefore 0 and 2^42 are below the limit 2^43, 2^43 is not: two tokens
        assertDraw(1, equal, dense.withTopK(4).withTopP(0.5), Math.nextDown(1.0));
        assertDraw(1, equal, dense.withTopP(0.5), Math.nextDown(1.0));
        // min-p 1: only weights of exactly 2^42 stay (all four)
        assertDraw(3, equal, dense.withMinP(1.0), Math.nextDown(1.0));
    }

    private static void assertDraw(int want, float[] x, SamplingParams p, double u) {
        Row row = new Row(x, p, u);
        assertEquals(want, sampler(row), "Sampler, " + p + ", u " + u);
        assertEquals(want, DrawSimulation.reference(x, x.length, p, u), "reference, " + p + ", u " + u);
        if (!(p.topP() < 1) || DrawSimulation.topKOn(p, x.length)) {
            assertEquals(want, DrawSimulation.deviceOrder(x, x.length, p, u, DrawSimulation.THREADS),
                    "kernel order, " + p + ", u " + u);
        }
    }
}
