package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.sampling.DrawEdits;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.SeededDraw;
import dev.shardline.model.sampling.TokenHistory;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.shardline.worker.cuda.GpuTestSupport.randoms;
import static dev.shardline.worker.cuda.GpuTestSupport.upload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Device argmax and temperature draws give the host {@link Sampler}'s tokens: the host draws u for a row as the
 * Sampler does, {@link SeededDraw#uniform SeededDraw.uniform(seed, position)}, and both sides weigh tokens with
 * {@code DrawWeights}' exact integer rule, so the device must pick the same token. QwQ vocabulary (152064) and
 * random smaller ones, temperatures, top-k up to the device limit 1024, top-p, min-p, ties planted, rows at
 * different positions.
 */
class CudaSamplingTest extends GpuTest {
    private static final int VOCAB = 152064;
    private final Random random = new Random(11);

    @Test
    void argmaxTakesTheLowestIdOnTies() {
        int rows = 3;
        float[] logits = randoms(random, rows * VOCAB, 3f);
        logits[VOCAB + 90000] = 50f;
        logits[VOCAB + 1000] = 50f;                  // tie: 1000 wins
        logits[2 * VOCAB + VOCAB - 1] = 60f;         // the last id
        int[] expected = new int[rows];
        for (int r = 0; r < rows; r++) {
            int best = 0;
            for (int i = 1; i < VOCAB; i++) if (logits[r * VOCAB + i] > logits[r * VOCAB + best]) best = i;
            expected[r] = best;
        }
        try (var l = upload(cuda, logits)) {
            assertArrayEquals(expected, cuda.argmax(l, rows, VOCAB));
        }
        assertEquals(1000, expected[1]);
        assertEquals(VOCAB - 1, expected[2]);
    }

    /**
     * Device argmax with the chosen token's log-probability over the sampled vocabulary (n below the row stride, a
     * larger logit planted beyond it), against the host Sampler's greedy token; a row holding a NaN reports -inf as
     * the host does. Bound: 1e-6 x max(1, |log-prob|) (the device sums in double, the host float exps).
     */
    @Test
    void argmaxLogprobGivesTheHostSamplersGreedyTokenAndLogprob() {
        int rows = 4;
        int n = VOCAB - 64;
        float[] logits = randoms(random, rows * VOCAB, 3f);
        logits[VOCAB - 1] = 99f;                               // beyond n: never chosen
        logits[VOCAB + 1000] = 20f;
        logits[VOCAB + 90000] = 20f;                           // tie: 1000 wins
        logits[2 * VOCAB + 17] = 8f;
        logits[3 * VOCAB + 5] = Float.NaN;
        int[] ids = new int[rows];
        float[] logprobs = new float[rows];
        try (var l = upload(cuda, logits)) {
            cuda.argmaxLogprob(l, rows, VOCAB, n, ids, logprobs);
        }
        for (int r = 0; r < rows; r++) {
            var host = new Sampler(SamplingParams.greedy()).choose(logits, r * VOCAB, n, TokenHistory.ofPrompt(new int[] {0}));
            assertEquals(host.id(), ids[r], "row " + r);
            assertEquals(host.logprob(), logprobs[r], 1e-6 * Math.max(1, Math.abs(host.logprob())), "row " + r);
        }
        assertEquals(1000, ids[1]);
        assertEquals(Float.NEGATIVE_INFINITY, logprobs[3]);
        assertTrue(Math.abs(logits[VOCAB + 1000] - logprobs[1]) > 1e-3, "the raw logit would be caught");
    }

    /**
     * Greedy tokens with top log-probs against the host Sampler.score on the QwQ vocabulary (n below the stride, a
     * larger logit beyond it): ids exactly, log-probs within 1e-6 x max(1, |log-prob|); rows with 20, 5, 1 and 0
     * alternatives in one launch, ties at the boundary (lower id first), a -inf and a +inf row; a NaN row is declined
     * when it asks for alternatives and keeps its device token (-inf) when it does not ({@link DeviceTopLogprobsTest}
     * checks the same contract on the CPU through {@link ArgmaxTopSimulation}, the kernel's CPU model).
     */
    @Test
    void argmaxTopGivesTheHostSamplersTopLogprobs() {
        int rows = 6;
        int n = VOCAB - 64;
        float[] logits = randoms(random, rows * VOCAB, 3f);
        logits[VOCAB - 1] = 99f;                               // beyond n: never reported
        for (int i = 0; i < 8; i++) logits[VOCAB + 500 + 7000 * i] = 30f;   // 8-way tie across the 5th place
        logits[2 * VOCAB + 3] = Float.NEGATIVE_INFINITY;
        logits[3 * VOCAB + 77] = Float.POSITIVE_INFINITY;
        logits[4 * VOCAB + 9] = Float.NaN;
        logits[5 * VOCAB + 9] = Float.NaN;
        int[] top = {20, 5, 1, 3, 4, 0};
        SampledToken[] got;
        try (var l = upload(cuda, logits)) {
            got = cuda.argmaxTop(l, rows, VOCAB, n, top);
        }
        for (int r = 0; r < rows; r++) {
            SampledToken want = host(logits, r * VOCAB, n, top[r]);
            if (r == 4) {
                assertEquals(null, got[r], "a NaN row with alternatives is declined");
                continue;
            }
            assertEquals(want.id(), got[r].id(), "row " + r);
            assertEquals(want.logprob(), got[r].logprob(), 1e-6 * Math.max(1, Math.abs(want.logprob())), "row " + r);
            assertEquals(top[r], got[r].topLogprobs().size(), "row " + r);
            for (int j = 0; j < top[r]; j++) {
                var a = want.topLogprobs().get(j);
                var b = got[r].topLogprobs().get(j);
                assertEquals(a.id(), b.id(), "row " + r + ", top " + j);
                assertEquals(a.logprob(), b.logprob(), 1e-6 * Math.max(1, Math.abs(a.logprob())),
                        "row " + r + ", top " + j);
            }
        }
        assertEquals(java.util.List.of(500, 7500, 14500, 21500, 28500),
                got[1].topLogprobs().stream().map(t -> t.id()).toList(),
                "the tie at the 5th place: lower ids first");
        assertEquals(Float.NEGATIVE_INFINITY, got[5].logprob(), "a NaN row without alternatives: -inf, as the host");
        float[] row0 = java.util.Arrays.copyOfRange(logits, 0, VOCAB);
        assertTrue(Math.abs(row0[got[0].topLogprobs().get(3).id()] - got[0].topLogprobs().get(3).logprob()) > 1e-3,
                "a raw logit would be caught");
    }

    private static SampledToken host(float[] logits, int offset, int n, int top) {
        int id = new Sampler(SamplingParams.greedy()).choose(logits, offset, n, TokenHistory.ofPrompt(new int[] {0}))
                .id();
        return new Sampler(SamplingParams.greedy().withTopLogprobs(top)).score(id, logits, offset, n);
    }

    @Test
    void drawGivesTheHostSamplersTokensAndLogprobs() {
        // temperature, top_k (0: off), top_p, min_p: top-k with and without top-p, the dense path, min-p on both
        double[][] settings = {
                {0.6, 40, 0.95, 0}, {1, 1024, 1, 0}, {0.75, 1, 1, 0}, {1.25, 200, 0.5, 0}, {1, 0, 1, 0},
                {0.3, 0, 1, 0}, {2, 7, 0.75, 0}, {1, 0, 1, 0.05}, {0.7, 500, 0.9, 0.01}, {1.5, 0, 1, 0.001}};
        int rows = settings.length;
        int stride = VOCAB + 64;                                    // rows wider than the sampled vocabulary
        int n = VOCAB;
        for (int trial = 0; trial < 30; trial++) {
            float[] logits = randoms(random, (rows + 1) * stride, 4f);
            for (int r = 0; r <= rows; r++) {                            // a few strong candidates and a tie
                for (int j = 0; j < 30; j++) logits[r * stride + random.nextInt(n)] += 6f;
                logits[r * stride + 5] = logits[r * stride + 6];
            }
            DeviceDraw[] draws = new DeviceDraw[rows];
            SampledToken[] expected = new SampledToken[rows];
            for (int r = 0; r < rows; r++) {
                double[] q = settings[r];
                long seed = 1000L * trial + r;
                int position = 37 * trial + r;                 // a prompt of that many tokens: the next draw's position
                SamplingParams p = SamplingParams.defaults().withTemperature(q[0]).withTopK(q[1] == 0 ? -1 : (int) q[1])
                        .withTopP(q[2]).withMinP(q[3]).withSeed(seed);
                draws[r] = DeviceDraw.of(p, seed, position);
                expected[r] = new Sampler(p).choose(logits, (r + 1) * stride, n, TokenHistory.ofPrompt(new int[position]));
            }
            try (var l = upload(cuda, logits)) {
                SampledToken[] got = cuda.draw(l, 1, rows, stride, n, draws);      // row 0 is not drawn
                for (int r = 0; r < rows; r++) {
                    String what = "trial " + trial + ", row " + r;
                    assertEquals(expected[r].id(), got[r].id(), what);
                    assertEquals(expected[r].logprob(), got[r].logprob(), 1e-5, what);
                }
            }
        }
    }

    @Test
    void drawEqualsTheHostOnManySmallRandomRowsWithAndWithoutPenalties() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        int rows = 64;
        for (int trial = 0; trial < 40; trial++) {
            int n = 2 + r.nextInt(30_000);
            float[] logits = new float[rows * n];
            DeviceDraw[] draws = new DeviceDraw[rows];
            int[] expected = new int[rows];
            for (int row = 0; row < rows; row++) {
                float[] x = DeviceDrawsTest.randomRow(r, n);
                System.arraycopy(x, 0, logits, row * n, n);
                SamplingParams p = DeviceDrawsTest.randomParams(r, n);
                long seed = r.nextLong();
                TokenHistory history = TokenHistory.ofPrompt(new int[r.nextInt(5000)]);
                DrawEdits edits = DrawEdits.NONE;
                if (r.nextInt(3) == 0) {                            // bias and penalties from a history
                    p = DeviceDrawsTest.withPenalties(r, p, n);
                    if (r.nextInt(4) == 0) p = p.withTemperature(0);    // greedy: the edited argmax
                    history = DeviceDrawsTest.randomHistory(r, n);
                    edits = DrawEdits.of(p, history, new int[0], n);
                    if (p.isGreedy() && edits.isEmpty()) p = p.withTemperature(1);
                }
                draws[row] = DeviceDraw.of(p, seed, history.length(), edits);
                expected[row] = new Sampler(p.withSeed(seed)).choose(x, 0, n, history).id();
            }
            try (var l = upload(cuda, logits)) {
                SampledToken[] got = cuda.draw(l, 0, rows, n, n, draws);
                for (int row = 0; row < rows; row++) {
                    assertEquals(expected[row], got[row].id(), "trial " + trial + ", row " + row + ", n " + n
                            + ", " + draws[row]);
                }
            }
        }
    }

    @Test
    void drawOnACumulativeBoundaryTakesTheNextTokenAsTheHost() {
        int rows = DeviceDrawsTest.BOUNDARY_DRAWS.length;
        int n = DeviceDrawsTest.EQUAL.length;
        float[] logits = new float[rows * n];
        for (int r = 0; r < rows; r++) System.arraycopy(DeviceDrawsTest.EQUAL, 0, logits, r * n, n);
        try (var l = upload(cuda, logits)) {
            SampledToken[] got = cuda.draw(l, 0, rows, n, n, DeviceDrawsTest.BOUNDARY_DRAWS);
            for (int r = 0; r < rows; r++) {
                assertEquals(DeviceDrawsTest.BOUNDARY_TOKENS[r], got[r].id(), "draw " + r);
            }
        }
    }

    @Test
    void drawsTheDeviceCannotMakeAreRefused() {
        try (var l = cuda.allocate(VOCAB)) {
            assertThrows(IllegalArgumentException.class, () -> cuda.draw(l, 0, 1, VOCAB, VOCAB,
                    new DeviceDraw[] {new DeviceDraw(1f, 2000, 1, 0, 0.5)}));
            assertThrows(IllegalArgumentException.class, () -> cuda.draw(l, 0, 1, VOCAB, VOCAB,
                    new DeviceDraw[] {new DeviceDraw(1f, -1, 0.9, 0, 0.5)}));
        }
    }
}
