package dev.shardline.worker.cuda;

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
 * Device argmax and sampling give the host {@link Sampler}'s tokens: the host draws u for a row as the Sampler does,
 * {@link SeededDraw#uniform SeededDraw.uniform(seed, position)}, so every backend must pick the same token. QwQ
 * vocabulary (152064), temperatures and top-p values exact in float, top-k up to the device limit 1024, ties planted,
 * rows at different positions.
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
    void sampleDrawsTheHostSamplersTokens() {
        float[][] settings = {     // temperature, top_k, top_p
                {0.5f, 40, 0.875f}, {1f, 1024, 1f}, {0.75f, 1, 1f}, {1.25f, 200, 0.5f}, {1f, 0, 1f}, {0f, 0, 1f},
                {2f, 7, 0.75f}};
        int rows = settings.length;
        for (int trial = 0; trial < 20; trial++) {
            float[] logits = randoms(random, rows * VOCAB, 4f);
            for (int r = 0; r < rows; r++) {                             // a few strong candidates and a tie
                for (int j = 0; j < 30; j++) logits[r * VOCAB + random.nextInt(VOCAB)] += 6f;
                logits[r * VOCAB + 5] = logits[r * VOCAB + 6];
            }
            float[] temperature = new float[rows];
            int[] topK = new int[rows];
            float[] topP = new float[rows];
            double[] u = new double[rows];
            int[] expected = new int[rows];
            for (int r = 0; r < rows; r++) {
                temperature[r] = settings[r][0];
                topK[r] = (int) settings[r][1];
                topP[r] = settings[r][2];
                long seed = 1000L * trial + r;
                int position = 37 * trial + r;                 // a prompt of that many tokens: the next draw's position
                u[r] = SeededDraw.uniform(seed, position);
                SamplingParams p = SamplingParams.defaults().withTemperature(temperature[r])
                        .withTopK(topK[r] == 0 ? -1 : topK[r]).withTopP(topP[r]).withSeed(seed);
                expected[r] = new Sampler(p).sample(logits, r * VOCAB, VOCAB, TokenHistory.ofPrompt(new int[position]))
                        .id();
            }
            try (var l = upload(cuda, logits)) {
                assertArrayEquals(expected, cuda.sample(l, rows, VOCAB, temperature, topK, topP, u), "trial " + trial);
            }
        }
    }

    @Test
    void settingsTheDeviceCannotSampleAreRefused() {
        try (var l = cuda.allocate(VOCAB)) {
            assertThrows(IllegalArgumentException.class, () -> cuda.sample(l, 1, VOCAB, new float[] {1f},
                    new int[] {2000}, new float[] {1f}, new double[] {0.5}));
            assertThrows(IllegalArgumentException.class, () -> cuda.sample(l, 1, VOCAB, new float[] {1f},
                    new int[] {-1}, new float[] {0.9f}, new double[] {0.5}));
        }
    }
}
