package dev.shardline.worker.stage;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.DeviceSampler;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
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
                KvCache.onHeap(StageExecutorTest.CONFIG, LayerRange.whole(3), 16, 4), VOCAB_LIMIT, sampler);
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
        List<List<SampledResult>> steps = new ArrayList<>();
        for (int step = 0; step < 5; step++) {
            List<StageEntry> entries = new ArrayList<>();
            for (int q = 0; q < SETUPS.length; q++) {
                int[] table = {3 * q, 3 * q + 1, 3 * q + 2};
                if (step == 0) {
                    entries.add(new StageEntry(q, PROMPT, 0, table, true, SETUPS[q], 0));
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
}
