package dev.shardline.worker.stage;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.forward.DeviceSampler;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.worker.cuda.ArgmaxTopSimulation;
import dev.shardline.worker.cuda.CudaKernels;
import dev.shardline.worker.cuda.DeviceDraws;
import dev.shardline.worker.cuda.DeviceTopLogprobs;
import dev.shardline.worker.cuda.DrawKernelSimulation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The last stage with a device sampler: sequences whose parameters route to the device argmax get their token and
 * log-probability from it (here a CPU stand-in computing argmax and log-softmax from the logits, as the CUDA kernel
 * does), every other sequence from the host sampler, and the results equal a stage without a device sampler.
 */
class DeviceSamplingStageTest {
    static final int VOCAB_LIMIT = 500;
    static final int[] PROMPT = {5, 17, 300, 42, 7, 99, 12};
    @TempDir
    static Path dir;
    static ModelWeights weights;

    @BeforeAll
    static void write() {
        DemoCheckpointWriter.writeWeights(StageExecutorTest.CONFIG, dir, 2, 5, null);
        weights = CheckpointLoader.load(dir, StageExecutorTest.CONFIG, LayerRange.whole(3), null);
    }

    @AfterAll
    static void close() {
        weights.close();
    }

    /** Argmax (lowest id on ties) and log-softmax over the first n values, in double, from logits read back. */
    static final class HostStandIn implements DeviceSampler {
        final ReferenceKernels kernels;
        final boolean broken;          // reports the raw logit instead of its log-softmax
        int rows;

        HostStandIn(ReferenceKernels kernels, boolean broken) {
            this.kernels = kernels;
            this.broken = broken;
        }

        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            float[] x = new float[rows * stride];
            kernels.read(logits, 0, x, 0, x.length);
            for (int r = 0; r < rows; r++) {
                int o = r * stride;
                int top = 0;
                for (int i = 1; i < n; i++) if (x[o + i] > x[o + top]) top = i;
                double sum = 0;
                for (int i = 0; i < n; i++) sum += Math.exp(x[o + i] - x[o + top]);
                ids[r] = top;
                logprobs[r] = broken ? x[o + top] : (float) (-Math.log(sum));
            }
            this.rows += rows;
        }
    }

    static StageExecutor stage(DeviceSampler sampler, ReferenceKernels kernels) {
        return new StageExecutor(new Qwen2Forward(weights, kernels),
                KvCache.onHeap(StageExecutorTest.CONFIG, LayerRange.whole(3), 24, 4), VOCAB_LIMIT, sampler);
    }

    /** Four sequences: greedy (device), greedy with a penalty, seeded temperature, greedy with a forced token. */
    static final SamplingSetup[] SETUPS = {
            new SamplingSetup(SamplingParams.greedy(), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.greedy().withPenalties(0, 0, 1.3), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(0.8).withSeed(5L), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.greedy(), PROMPT.length, new int[] {11})};

    /**
     * A prefill of all four, then four decode steps fed with {@code feed}'s tokens (its own when feed is empty);
     * results per step.
     */
    static List<List<SampledResult>> run(StageExecutor s, List<List<SampledResult>> feed) {
        return run(s, feed, SETUPS);
    }

    static List<List<SampledResult>> run(StageExecutor s, List<List<SampledResult>> feed, SamplingSetup[] setups) {
        List<List<SampledResult>> steps = new ArrayList<>();
        for (int step = 0; step < 5; step++) {
            List<StageEntry> entries = new ArrayList<>();
            for (int q = 0; q < setups.length; q++) {
                int[] table = {3 * q, 3 * q + 1, 3 * q + 2};
                if (step == 0) {
                    entries.add(new StageEntry(q, PROMPT, 0, table, true, setups[q], 0));
                } else {
                    int token = (feed.isEmpty() ? steps : feed).get(step - 1).get(q).tokenId();
                    entries.add(new StageEntry(q, new int[] {token}, PROMPT.length + step - 1, table, true, null, step));
                }
            }
            steps.add(s.execute(entries, null, List.of()).sampled());
        }
        return steps;
    }

    @Test
    void greedySequencesComeFromTheDeviceWithTheHostSamplersTokensAndLogprobs() {
        List<List<SampledResult>> host = run(stage(null, new ReferenceKernels()), new ArrayList<>());
        ReferenceKernels kernels = new ReferenceKernels();
        HostStandIn device = new HostStandIn(kernels, false);
        List<List<SampledResult>> mixed = run(stage(device, kernels), host);

        assertEquals(5 + 4, device.rows, "the plain greedy sequence every step, the forced one after its forced token");
        for (int step = 0; step < host.size(); step++) {
            List<SampledResult> h = host.get(step);
            List<SampledResult> m = mixed.get(step);
            assertArrayEquals(h.stream().mapToLong(SampledResult::sequenceId).toArray(),
                    m.stream().mapToLong(SampledResult::sequenceId).toArray(), "step " + step + ": batch order");
            for (int q = 0; q < h.size(); q++) {
                assertEquals(h.get(q).tokenId(), m.get(q).tokenId(), "step " + step + ", sequence " + q);
                assertEquals(h.get(q).logprob(), m.get(q).logprob(), 1e-6, "step " + step + ", sequence " + q);
            }
        }
        assertEquals(11, mixed.get(0).get(3).tokenId(), "the forced token");
    }

    @Test
    void aDeviceSamplerReportingTheRawLogitIsCaught() {
        List<List<SampledResult>> host = run(stage(null, new ReferenceKernels()), new ArrayList<>());
        ReferenceKernels kernels = new ReferenceKernels();
        List<List<SampledResult>> broken = run(stage(new HostStandIn(kernels, true), kernels), host);
        double worst = 0;
        for (int step = 0; step < host.size(); step++) {
            worst = Math.max(worst, Math.abs(host.get(step).get(0).logprob() - broken.get(step).get(0).logprob()));
        }
        assertTrue(worst > 1e-3, "the comparison separates a raw logit from its log-probability: " + worst);
    }

    @Test
    void theRouteSendsOnlyPlainGreedySequencesWithoutForcedTokensToTheDevice() {
        ReferenceKernels kernels = new ReferenceKernels();
        StageExecutor s = stage(new HostStandIn(kernels, false), kernels);
        List<StageEntry> entries = new ArrayList<>();
        for (int q = 0; q < SETUPS.length; q++) {
            entries.add(new StageEntry(q, PROMPT, 0, new int[] {3 * q}, true, SETUPS[q], 0));
        }
        entries.add(new StageEntry(9, PROMPT, 0, new int[] {13}, false,
                new SamplingSetup(SamplingParams.greedy(), PROMPT.length, new int[0]), 0));
        boolean[] device = s.greedyOnDevice(entries).sequences();
        assertArrayEquals(new boolean[] {true, false, false, false, false}, device);
        assertEquals(0, stage(null, kernels).greedyOnDevice(entries).sequences().length, "no device sampler: none");
    }

    /**
     * The device with top log-probs: argmax_top_kernel's output simulated on the CPU from the logits read back
     * ({@link ArgmaxTopSimulation}), decoded as CudaKernels does ({@link DeviceTopLogprobs}); with {@code decline}
     * every row with alternatives is declined (the forward pass then reads it back for the host sampler).
     */
    static final class TopStandIn implements DeviceSampler {
        final ReferenceKernels kernels;
        final boolean decline;
        int rows;
        int declined;

        TopStandIn(ReferenceKernels kernels, boolean decline) {
            this.kernels = kernels;
            this.decline = decline;
        }

        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            new HostStandIn(kernels, false).argmaxLogprob(logits, rows, stride, n, ids, logprobs);
            this.rows += rows;
        }

        @Override
        public int maxTopLogprobs() {
            return 20;
        }

        @Override
        public SampledToken[] argmaxTop(Activations logits, int rows, int stride, int n, int[] top) {
            float[] x = new float[rows * stride];
            kernels.read(logits, 0, x, 0, x.length);
            int most = 1;
            for (int r = 0; r < rows; r++) most = Math.max(most, top[r]);
            int[] raw = ArgmaxTopSimulation.run(x, rows, stride, n, most);
            SampledToken[] out = new SampledToken[rows];
            for (int r = 0; r < rows; r++) {
                boolean no = decline && top[r] > 0;
                out[r] = no ? null : DeviceTopLogprobs.decode(raw, r, most, top[r]);
                if (no) declined++;
            }
            this.rows += rows;
            return out;
        }
    }

    /** Greedy with 5 top log-probs, plain greedy (device); seeded temperature with 3, a penalty with 2 (host). */
    static final SamplingSetup[] TOP_SETUPS = {
            new SamplingSetup(SamplingParams.greedy().withTopLogprobs(5), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.greedy(), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(0.8).withSeed(5L).withTopLogprobs(3),
                    PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.greedy().withPenalties(0, 0, 1.3).withTopLogprobs(2), PROMPT.length,
                    new int[0])};

    @Test
    void greedyTopLogprobsComeFromTheDeviceAsTheHostSamplerReportsThem() {
        List<List<SampledResult>> host = run(stage(null, new ReferenceKernels()), new ArrayList<>(), TOP_SETUPS);
        for (boolean decline : new boolean[] {false, true}) {
            ReferenceKernels kernels = new ReferenceKernels();
            TopStandIn device = new TopStandIn(kernels, decline);
            List<List<SampledResult>> mixed = run(stage(device, kernels), host, TOP_SETUPS);
            assertEquals(5 * 2, device.rows, "sequences 0 and 1 on the device every step");
            assertEquals(decline ? 5 : 0, device.declined);
            for (int step = 0; step < host.size(); step++) {
                for (int q = 0; q < TOP_SETUPS.length; q++) {
                    SampledResult h = host.get(step).get(q);
                    SampledResult m = mixed.get(step).get(q);
                    String what = (decline ? "declined, " : "") + "step " + step + ", sequence " + q;
                    assertEquals(h.sequenceId(), m.sequenceId(), what);
                    assertEquals(h.tokenId(), m.tokenId(), what);
                    assertEquals(h.logprob(), m.logprob(), 1e-6, what);
                    assertEquals(h.topLogprobs().size(), m.topLogprobs().size(), what);
                    for (int j = 0; j < h.topLogprobs().size(); j++) {
                        assertEquals(h.topLogprobs().get(j).id(), m.topLogprobs().get(j).id(), what + " top " + j);
                        assertEquals(h.topLogprobs().get(j).logprob(), m.topLogprobs().get(j).logprob(), 1e-6,
                                what + " top " + j);
                    }
                }
                assertEquals(5, mixed.get(step).get(0).topLogprobs().size());
            }
        }
    }

    @Test
    void aDeviceSamplerWithoutTopLogprobsLeavesThemToTheHost() {
        ReferenceKernels kernels = new ReferenceKernels();
        StageExecutor s = stage(new HostStandIn(kernels, false), kernels);
        List<StageEntry> entries = new ArrayList<>();
        for (int q = 0; q < TOP_SETUPS.length; q++) {
            entries.add(new StageEntry(q, PROMPT, 0, new int[] {3 * q}, true, TOP_SETUPS[q], 0));
        }
        assertArrayEquals(new boolean[] {false, true, false, false}, s.greedyOnDevice(entries).sequences());
        StageExecutor top = stage(new TopStandIn(kernels, false), kernels);
        assertArrayEquals(new boolean[] {true, true, false, false}, top.greedyOnDevice(entries).sequences());
        assertArrayEquals(new int[] {5, 0, 0, 0}, top.greedyOnDevice(entries).topLogprobs());
    }

    /**
     * The device with temperature draws: greedy rows as {@link HostStandIn}, drawn rows through sample_kernel's
     * output simulated on the CPU in the kernel's order ({@link DrawKernelSimulation}) and decoded as CudaKernels
     * does ({@link DeviceDraws}); {@code broken} draws at 1 - u.
     */
    static final class DrawStandIn implements DeviceSampler {
        final ReferenceKernels kernels;
        final boolean broken;
        int greedyRows;
        int drawnRows;
        int topRows;

        DrawStandIn(ReferenceKernels kernels, boolean broken) {
            this.kernels = kernels;
            this.broken = broken;
        }

        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            new HostStandIn(kernels, false).argmaxLogprob(logits, rows, stride, n, ids, logprobs);
            greedyRows += rows;
        }

        @Override
        public int maxTopLogprobs() {
            return 20;
        }

        @Override
        public SampledToken[] argmaxTop(Activations logits, int rows, int stride, int n, int[] top) {
            TopStandIn tops = new TopStandIn(kernels, false);
            SampledToken[] out = tops.argmaxTop(logits, rows, stride, n, top);
            topRows += rows;
            return out;
        }

        @Override
        public boolean draws() {
            return true;
        }

        @Override
        public SampledToken[] draw(Activations logits, int firstRow, int rows, int stride, int n, DeviceDraw[] draws) {
            DeviceDraws.check(draws, rows, n, CudaKernels.MAX_DEVICE_TOP_K);
            float[] x = new float[(firstRow + rows) * stride];
            kernels.read(logits, 0, x, 0, x.length);
            DeviceDraw[] used = draws.clone();
            if (broken) {
                for (int r = 0; r < rows; r++) {
                    DeviceDraw d = draws[r];
                    used[r] = new DeviceDraw(d.invTemperature(), d.topK(), d.topP(), d.minP(), Math.nextDown(1 - d.u()));
                }
            }
            int[] raw = DrawKernelSimulation.run(x, firstRow, rows, stride, n, used);
            SampledToken[] out = new SampledToken[rows];
            for (int r = 0; r < rows; r++) out[r] = DeviceDraws.decode(raw, r);
            drawnRows += rows;
            return out;
        }
    }

    /**
     * Greedy, QwQ's settings (top-k 40, top-p 0.95) and temperature with min-p (device draws, the second without
     * top-k), temperature with penalties and a bias (drawn on the device after the edits of the history the sample
     * sees, also at the prefill), top-p without top-k (host), and greedy with a penalty and a bias (the draw kernel's
     * argmax of the edited logits), and temperature with 4 top log-probs (the draw, and the alternatives from
     * argmaxTop over the device rows in the same step), all seeded.
     */
    static final SamplingSetup[] DRAW_SETUPS = {
            new SamplingSetup(SamplingParams.greedy(), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.qwqRecommended().withTemperature(1.5).withSeed(3L), PROMPT.length,
                    new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(1.2).withMinP(0.02).withSeed(4L),
                    PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(0.9).withPenalties(0.3, 0.2, 1.3)
                    .withLogitBias(java.util.Map.of(17, 2f, 40, -1f)).withSeed(6L), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTopP(0.8).withSeed(7L), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.greedy().withPenalties(0, 0, 1.3).withLogitBias(java.util.Map.of(3, 1.5f))
                    .withSeed(8L), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(0.7).withTopK(30).withTopLogprobs(4)
                    .withSeed(13L), PROMPT.length, new int[0])};

    @Test
    void drawnSequencesComeFromTheDeviceInTheSameStepWithTheHostSamplersTokens() {
        List<List<SampledResult>> host = run(stage(null, new ReferenceKernels()), new ArrayList<>(), DRAW_SETUPS);
        ReferenceKernels kernels = new ReferenceKernels();
        DrawStandIn device = new DrawStandIn(kernels, false);
        StageExecutor s = stage(device, kernels);
        List<StageEntry> first = new ArrayList<>();
        for (int q = 0; q < DRAW_SETUPS.length; q++) {
            first.add(new StageEntry(q, PROMPT, 0, new int[] {3 * q}, true, DRAW_SETUPS[q], 0));
        }
        assertArrayEquals(new boolean[] {true, true, true, true, false, true, true}, s.greedyOnDevice(first).sequences());
        List<List<SampledResult>> mixed = run(s, host, DRAW_SETUPS);

        assertEquals(0, device.greedyRows, "with top log-probs asked, argmaxTop serves the greedy rows");
        assertEquals(5 * 6, device.topRows, "every device row, for the alternatives of the drawn one");
        assertEquals(5 * 5, device.drawnRows, "five drawn sequences every step (two with bias and penalties)");
        java.util.Set<Integer> distinct = new java.util.HashSet<>();
        for (int step = 0; step < host.size(); step++) {
            for (int q = 0; q < DRAW_SETUPS.length; q++) {
                SampledResult h = host.get(step).get(q);
                SampledResult m = mixed.get(step).get(q);
                String what = "step " + step + ", sequence " + q;
                assertEquals(h.sequenceId(), m.sequenceId(), what);
                assertEquals(h.tokenId(), m.tokenId(), what);
                assertEquals(h.logprob(), m.logprob(), 1e-5, what);
                assertEquals(h.topLogprobs().size(), m.topLogprobs().size(), what);
                for (int j = 0; j < h.topLogprobs().size(); j++) {
                    assertEquals(h.topLogprobs().get(j).id(), m.topLogprobs().get(j).id(), what + " top " + j);
                    assertEquals(h.topLogprobs().get(j).logprob(), m.topLogprobs().get(j).logprob(), 1e-5,
                            what + " top " + j);
                }
            }
            assertEquals(4, mixed.get(step).get(6).topLogprobs().size());
            distinct.add(mixed.get(step).get(1).tokenId());
            distinct.add(mixed.get(step).get(2).tokenId());
            distinct.add(mixed.get(step).get(3).tokenId());
        }
        assertTrue(distinct.size() > 2, "the drawn sequences sample: " + distinct);
    }

    @Test
    void aDeviceDrawingAtAnotherUniformIsCaught() {
        List<List<SampledResult>> host = run(stage(null, new ReferenceKernels()), new ArrayList<>(), DRAW_SETUPS);
        ReferenceKernels kernels = new ReferenceKernels();
        List<List<SampledResult>> broken = run(stage(new DrawStandIn(kernels, true), kernels), host, DRAW_SETUPS);
        int differ = 0;
        for (int step = 0; step < host.size(); step++) {
            for (int q = 1; q <= 3; q++) {
                if (host.get(step).get(q).tokenId() != broken.get(step).get(q).tokenId()) differ++;
            }
        }
        assertTrue(differ > 0, "the comparison separates the right draw from a wrong one");
    }

    /**
     * A recomputed sequence (2 of its 7 tokens generated before, prompt length not given) prefilled in two chunks,
     * with penalties and a bias: its first token too is drawn on the device, from the edits of the history the
     * sample will build, and equals the host stage's, as do the decode steps after it.
     */
    @Test
    void aChunkedRecomputedPrefillWithPenaltiesIsDrawnFromTheHistoryItWillHave() {
        SamplingSetup setup = new SamplingSetup(SamplingParams.defaults().withTemperature(1.3).withTopK(80)
                .withPenalties(0.4, 0.3, 1.5).withLogitBias(java.util.Map.of(PROMPT[5], 3f)).withSeed(12L), 0,
                new int[0]);
        ReferenceKernels kernels = new ReferenceKernels();
        DrawStandIn device = new DrawStandIn(kernels, false);
        List<Integer> host = chunked(stage(null, new ReferenceKernels()), setup, new ArrayList<>());
        List<Integer> drawn = chunked(stage(device, kernels), setup, host);
        assertEquals(host, drawn);
        assertEquals(4, device.drawnRows, "the first token and three decode steps");
    }

    /** Tokens of a two-chunk prefill and three decode steps fed with {@code feed} (its own when empty). */
    private static List<Integer> chunked(StageExecutor s, SamplingSetup setup, List<Integer> feed) {
        int[] table = {0, 1, 2};
        int[] first = java.util.Arrays.copyOfRange(PROMPT, 0, 4);
        int[] second = java.util.Arrays.copyOfRange(PROMPT, 4, PROMPT.length);
        assertEquals(0, s.execute(List.of(new StageEntry(0, first, 0, table, false, setup, 2)), null, List.of())
                .sampled().size());
        List<Integer> out = new ArrayList<>();
        out.add(s.execute(List.of(new StageEntry(0, second, 4, table, true, null, 2)), null, List.of())
                .sampled().get(0).tokenId());
        for (int step = 0; step < 3; step++) {
            int token = (feed.isEmpty() ? out : feed).get(step);
            out.add(s.execute(List.of(new StageEntry(0, new int[] {token}, PROMPT.length + step, table, true, null,
                    3 + step)), null, List.of()).sampled().get(0).tokenId());
        }
        return out;
    }
}
