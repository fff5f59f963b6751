package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.sampling.DrawEdits;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenHistory;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host side of the device's temperature draws: the parameter upload's layout, the checks, and the kernel's
 * output (simulated on the CPU in the kernel's order, {@link DrawKernelSimulation}) decoded to the host Sampler's
 * token and log-prob for random rows, settings, seeds and positions; rows the host could draw differently are
 * declined.
 */
class DeviceDrawsTest {

    /** A random draw the device serves: top-k (maybe with top-p) or none, maybe min-p. */
    static SamplingParams randomParams(SplittableRandom r, int n) {
        SamplingParams p = SamplingParams.defaults().withTemperature(0.05 + r.nextDouble() * 2);
        if (r.nextBoolean()) {
            p = p.withTopK(1 + r.nextInt(Math.min(CudaKernels.MAX_DEVICE_TOP_K, n)));
            if (r.nextBoolean()) p = p.withTopP(0.2 + r.nextDouble() * 0.79);
        }
        if (r.nextInt(3) == 0) p = p.withMinP(r.nextDouble() * r.nextDouble() * 0.5);
        return p;
    }

    static SamplingParams withPenalties(SplittableRandom r, SamplingParams p, int n) {
        double rep = r.nextInt(3) == 0 ? 1.0 : 0.5 + r.nextDouble() * 1.5;
        p = p.withPenalties(r.nextDouble() * 2 - 0.5, r.nextDouble() * 2 - 0.5, rep);
        if (r.nextBoolean()) {
            java.util.Map<Integer, Float> bias = new java.util.HashMap<>();
            for (int i = 1 + r.nextInt(5); i > 0; i--) bias.put(r.nextInt(n + 10), (float) (r.nextGaussian() * 5));
            p = p.withLogitBias(bias);
        }
        return p;
    }

    /** A prompt and generated tokens among the first ids (so penalties hit candidates), some beyond n. */
    static TokenHistory randomHistory(SplittableRandom r, int n) {
        int[] prompt = new int[1 + r.nextInt(40)];
        for (int i = 0; i < prompt.length; i++) prompt[i] = r.nextInt(Math.min(n + 10, 100));
        TokenHistory h = TokenHistory.ofPrompt(prompt);
        for (int i = r.nextInt(60); i > 0; i--) h.addGenerated(r.nextInt(Math.min(n + 10, 100)));
        return h;
    }

    static float[] randomRow(SplittableRandom r, int n) {
        double sigma = new double[] {0.3, 1, 3, 8}[r.nextInt(4)];
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * sigma);
        for (int t = r.nextInt(4); t > 0; t--) x[r.nextInt(n)] = x[r.nextInt(n)];
        if (r.nextInt(10) == 0) x[r.nextInt(n)] = Float.NEGATIVE_INFINITY;
        return x;
    }

    @Test
    void theKernelsDrawDecodesToTheHostSamplersTokenAndLogprob() {
        SplittableRandom r = new SplittableRandom(99);
        int sampled = 0;
        int otherPosition = 0;
        for (int i = 0; i < 600; i++) {
            int n = r.nextInt(6) == 0 ? 20_000 + r.nextInt(20_000) : 2 + r.nextInt(4000);
            float[] x = randomRow(r, n);
            SamplingParams p = randomParams(r, n);
            long seed = r.nextLong();
            TokenHistory history = TokenHistory.ofPrompt(new int[r.nextInt(3000)]);
            DrawEdits edits = DrawEdits.NONE;
            if (r.nextInt(3) == 0) {                                // bias and penalties, from a history
                p = withPenalties(r, p, n);
                if (r.nextInt(4) == 0) p = p.withTemperature(0);    // greedy: the edited argmax
                history = randomHistory(r, n);
                edits = DrawEdits.of(p, history, new int[0], n);
                if (p.isGreedy() && edits.isEmpty()) p = p.withTemperature(1);
            }
            int position = history.length();
            SampledToken want = new Sampler(p.withSeed(seed)).choose(x, 0, n, history);
            DeviceDraw d = DeviceDraw.of(p, seed, position, edits);
            DeviceDraws.check(new DeviceDraw[] {d}, 1, n, CudaKernels.MAX_DEVICE_TOP_K);
            SampledToken got = DeviceDraws.decode(DrawKernelSimulation.run(x, 0, 1, n, n, new DeviceDraw[] {d}), 0);
            String what = "row " + i + " (" + n + " tokens, " + p + ", seed " + seed + ", position " + position + ")";
            assertNotNull(got, what);
            assertEquals(want.id(), got.id(), what);
            assertEquals(want.logprob(), got.logprob(), 1e-5, what);
            if (want.id() != argmax(x)) sampled++;
            DeviceDraw next = DeviceDraw.of(p, seed, position + 1, edits);
            int nextId = DeviceDraws.decode(DrawKernelSimulation.run(x, 0, 1, n, n, new DeviceDraw[] {next}), 0).id();
            if (nextId != want.id()) otherPosition++;
        }
        assertTrue(sampled > 200, "the rows sample, not argmax: " + sampled);
        assertTrue(otherPosition > 100, "the draw's position matters, so the comparison can fail: " + otherPosition);
    }

    /** Four equal tokens (weights exactly 2^42) and one cut off; draws whose target lies on a cumulative boundary. */
    static final float[] EQUAL = {2f, 2f, 2f, 2f, -50f};
    static final DeviceDraw[] BOUNDARY_DRAWS = {
            new DeviceDraw(1f, -1, 1, 0, 0.0), new DeviceDraw(1f, -1, 1, 0, 0.25), new DeviceDraw(1f, -1, 1, 0, 0.5),
            new DeviceDraw(1f, -1, 1, 0, 0.75), new DeviceDraw(1f, 2, 1, 0, 0.5),
            new DeviceDraw(1f, 4, 0.5, 0, Math.nextDown(1.0)), new DeviceDraw(1f, -1, 1, 1.0, Math.nextDown(1.0))};
    /**
     * The host's tokens for them (the model's DrawOrderTest checks the Sampler on the same rows and u): the next
     * token at a boundary; top-p 0.5 keeps two.
     */
    static final int[] BOUNDARY_TOKENS = {0, 1, 2, 3, 1, 1, 3};

    @Test
    void targetsOnACumulativeBoundaryTakeTheNextTokenAsOnTheHost() {
        for (int r = 0; r < BOUNDARY_DRAWS.length; r++) {
            DeviceDraw d = BOUNDARY_DRAWS[r];
            int[] raw = DrawKernelSimulation.run(EQUAL, 0, 1, EQUAL.length, EQUAL.length, new DeviceDraw[] {d});
            assertEquals(BOUNDARY_TOKENS[r], DeviceDraws.decode(raw, 0).id(), "kernel order, draw " + r);
        }
    }

    @Test
    void rowsAfterTheFirstAreReadAtTheirOffset() {
        SplittableRandom r = new SplittableRandom(4);
        int n = 700;
        int stride = 800;
        float[] logits = new float[4 * stride];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextGaussian() * 2);
        SamplingParams p = SamplingParams.defaults().withTopK(50).withSeed(1L);
        DeviceDraw[] draws = {DeviceDraw.of(p, 1, 10), DeviceDraw.of(p, 1, 11)};
        int[] raw = DrawKernelSimulation.run(logits, 2, 2, stride, n, draws);
        for (int r2 = 0; r2 < 2; r2++) {
            int want = new Sampler(p).choose(logits, (2 + r2) * stride, n, TokenHistory.ofPrompt(new int[10 + r2])).id();
            assertEquals(want, DeviceDraws.decode(raw, r2).id(), "row " + r2);
        }
    }

    @Test
    void aNanOrASignedZeroTieAtTheTopKBoundaryIsDeclined() {
        DeviceDraw topK2 = DeviceDraw.of(SamplingParams.defaults().withTopK(2), 3, 0);
        float[] nan = {1f, Float.NaN, 0.5f, 0.25f};
        assertNull(DeviceDraws.decode(DrawKernelSimulation.run(nan, 0, 1, 4, 4, new DeviceDraw[] {topK2}), 0));
        float[] zeros = {1f, 0f, -0f, -3f};                 // the 2nd candidate is a zero, and both zeros are there
        assertNull(DeviceDraws.decode(DrawKernelSimulation.run(zeros, 0, 1, 4, 4, new DeviceDraw[] {topK2}), 0));
        float[] zerosBelow = {1f, 0.5f, 0f, -0f};           // both zeros, below the boundary: the host agrees
        assertNotNull(DeviceDraws.decode(DrawKernelSimulation.run(zerosBelow, 0, 1, 4, 4, new DeviceDraw[] {topK2}), 0));
        DeviceDraw dense = DeviceDraw.of(SamplingParams.defaults(), 3, 0);
        assertNotNull(DeviceDraws.decode(DrawKernelSimulation.run(zeros, 0, 1, 4, 4, new DeviceDraw[] {dense}), 0),
                "without top-k, id order: no heap, no corner");
    }

    @Test
    void theUploadsColumnsAreAlignedAndDisjoint() {
        for (int rows : new int[] {1, 2, 3, 7, 64}) {
            for (int edits : new int[] {0, 1, 5}) {
                DeviceDraws.Layout at = DeviceDraws.Layout.of(rows, edits);
                String what = rows + " rows, " + edits + " edits";
                assertEquals(0, at.invTemperature());
                assertEquals(4L * rows, at.topK());
                assertTrue(at.topP() >= 8L * rows && at.topP() % 8 == 0, what);
                assertEquals(at.topP() + 8L * rows, at.minP());
                assertEquals(at.minP() + 8L * rows, at.u());
                assertEquals(at.u() + 8L * rows, at.penalty());
                assertEquals(at.penalty() + 12L * rows, at.editStart());
                assertEquals(at.editStart() + 4L * (rows + 1), at.editId());
                assertEquals(at.editId() + 4L * edits, at.editKind());
                assertEquals(at.editKind() + 4L * edits, at.editBias());
                assertEquals(at.editBias() + 4L * edits, at.editCount());
                assertEquals(at.editCount() + 4L * edits, at.bytes(), what);
            }
        }
        DrawEdits e = new DrawEdits(1.5f, 0.25f, 0.5f, new int[] {3, 9}, new int[] {DrawEdits.BIAS, DrawEdits.OUTPUT},
                new float[] {2f, 0f}, new int[] {0, 4});
        DeviceDraw plain = new DeviceDraw(2f, 40, 0.9, 0.05, 0.5);
        DeviceDraw edited = new DeviceDraw(1f, -1, 1, 0, 0.25, e);
        DeviceDraws.Columns c = DeviceDraws.Columns.of(new DeviceDraw[] {plain, edited, plain}, 3);
        assertEquals(40, c.topK()[0]);
        assertEquals(0.05, c.minP()[2]);
        assertEquals(2, c.edits());
        assertArrayEquals(new int[] {0, 0, 2, 2}, c.editStart(), "row 1 holds both edits");
        assertArrayEquals(new int[] {3, 9}, c.editId());
        assertArrayEquals(new int[] {0, 4}, c.editCount());
        assertEquals(1.5f, c.penalty()[3]);
        assertEquals(0.5f, c.penalty()[5]);
        assertEquals(1f, c.penalty()[0], "no penalty: repetition 1");
    }

    @Test
    void drawsTheDeviceCannotMakeAreRefusedNamingTheSetting() {
        assertRefused("top_k 2000 > 1024", new DeviceDraw(1f, 2000, 1, 0, 0.5));
        assertRefused("top_p 0.9 without top_k", new DeviceDraw(1f, -1, 0.9, 0, 0.5));
        assertRefused("top_p 0.9 without top_k", new DeviceDraw(1f, 5000, 0.9, 0, 0.5));   // top-k >= n is off
        assertRefused("u 1.0 outside [0, 1)", new DeviceDraw(1f, 5, 1, 0, 1.0));
        assertRefused("min_p 1.5 outside [0, 1]", new DeviceDraw(1f, 5, 1, 1.5, 0.5));
        assertRefused("invTemperature Infinity", new DeviceDraw(Float.POSITIVE_INFINITY, 5, 1, 0, 0.5));
        assertRefused("edited token 5000 outside [0, 5000)", new DeviceDraw(1f, 5, 1, 0, 0.5,
                new DrawEdits(1f, 0f, 0f, new int[] {5000}, new int[] {DrawEdits.BIAS}, new float[] {1f}, new int[1])));
        assertThrows(IllegalArgumentException.class, () -> DeviceDraw.of(SamplingParams.greedy(), 1, 0));
    }

    private static void assertRefused(String message, DeviceDraw d) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceDraws.check(new DeviceDraw[] {d}, 1, 5000, CudaKernels.MAX_DEVICE_TOP_K));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
