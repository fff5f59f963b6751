package dev.shardline.worker.cuda;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenLogprob;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.worker.stage.SampledResult;
import dev.shardline.worker.stage.SamplingSetup;
import dev.shardline.worker.stage.StageEntry;
import dev.shardline.worker.stage.StageExecutor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A whole last stage on the GPU as a worker runs it with {@code cuda-graphs=true}: decode graphs (captured in the
 * warm-up and while serving) and the device sampler (greedy with and without top log-probs, temperature draws),
 * against the same stage run eagerly with every token sampled on the host from the full logits. Seven sequences on
 * the tiny demo model with the bf16 cache: greedy with 5 top log-probs and plain greedy (device argmax), greedy with
 * a penalty (the draw kernel's edited argmax), seeded temperature with 2 top log-probs (device draw, alternatives
 * from argmaxTop), seeded temperature with top-k, top-p and min-p (device draw), seeded temperature with top-k and
 * penalties (device draw with edits), and seeded top-p without top-k (host); a prefill, then 10 decode steps fed
 * with the eager stage's tokens. Tokens must be equal (a draw could flip only where the graph and eager logits'
 * f32 rounding moves a cumulative weight across the target: of the order of 1e-6 per row); log-probs within
 * 1e-4 x max(1, |log-prob|) (graph vs eager logits differ by f32 rounding; the device sums exps in double); top
 * lists equal, except a swap of two alternatives closer than that bound.
 */
@Tag("gpu")
class CudaStageTest {
    private static final int[] PROMPT = {5, 17, 300, 42, 7, 99, 12, 3, 8};
    private static final int VOCAB_LIMIT = 500;
    private static final SamplingSetup[] SETUPS = {
            new SamplingSetup(SamplingParams.greedy().withTopLogprobs(5), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.greedy(), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.greedy().withPenalties(0, 0, 1.3), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(0.8).withSeed(5L).withTopLogprobs(2),
                    PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.qwqRecommended().withTemperature(1.3).withMinP(0.01).withSeed(9L),
                    PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(1.1).withTopK(100).withPenalties(0.2, 0.1, 1.2)
                    .withSeed(11L), PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTopP(0.9).withSeed(15L), PROMPT.length, new int[0])};

    @Test
    void aStageWithGraphsAndTheDeviceSamplerGivesTheEagerHostSampledStagesTokens(@TempDir Path dir) {
        GpuTestSupport.requireGpu();
        ModelConfig config = ForwardNumericsTest.TINY;
        DemoCheckpointWriter.writeWeights(config, dir, 1, 7, null);
        LayerRange range = LayerRange.whole(config.numHiddenLayers());
        try (ModelWeights w = CheckpointLoader.load(dir, config, range, null);
             CudaKernels cuda = CudaBackend.create(1);
             KvCache eagerCache = KvCache.allocate(cuda::allocateKv, config, range, 32, 16);
             KvCache graphCache = KvCache.allocate(cuda::allocateKv, config, range, 32, 16)) {
            cuda.uploadAll(w, null);
            Qwen2Forward eagerForward = new Qwen2Forward(w, cuda);
            CudaDecodeGraphs graphs = new CudaDecodeGraphs(cuda, new DecodeGraphPlan(true, 8, false),
                    CudaDecodeGraphs.Mode.GRAPHS);
            Qwen2Forward graphForward = new Qwen2Forward(w, cuda, graphs);
            try {
                StageExecutor eager = new StageExecutor(eagerForward, eagerCache, VOCAB_LIMIT);
                StageExecutor device = new StageExecutor(graphForward, graphCache, VOCAB_LIMIT, cuda);
                eager.warmUp();
                device.warmUp();
                assertEquals(1, graphs.stats().captures(), "the warm-up captures bucket 1: " + graphs.stats());
                List<List<SampledResult>> want = run(eager, new ArrayList<>());
                List<List<SampledResult>> got = run(device, want);
                CudaDecodeGraphs.Stats s = graphs.stats();
                assertNull(s.lastFailure(), s.toString());
                assertTrue(s.replays() >= 7, "bucket 4: warm-up, capture, then replays: " + s);
                for (int step = 0; step < want.size(); step++) {
                    for (int q = 0; q < SETUPS.length; q++) {
                        compare(want.get(step).get(q), got.get(step).get(q), "step " + step + ", sequence " + q);
                    }
                }
            } finally {
                eagerForward.close();
                graphForward.close();
            }
        }
    }

    private static void compare(SampledResult want, SampledResult got, String what) {
        assertEquals(want.sequenceId(), got.sequenceId(), what);
        assertEquals(want.tokenId(), got.tokenId(), what);
        assertEquals(want.logprob(), got.logprob(), 1e-4 * Math.max(1, Math.abs(want.logprob())), what);
        assertEquals(want.topLogprobs().size(), got.topLogprobs().size(), what);
        for (int j = 0; j < want.topLogprobs().size(); j++) {
            TokenLogprob a = want.topLogprobs().get(j);
            TokenLogprob b = got.topLogprobs().get(j);
            double bound = 1e-4 * Math.max(1, Math.abs(a.logprob()));
            assertEquals(a.logprob(), b.logprob(), bound, what + ", top " + j);
            if (a.id() != b.id()) {
                boolean nearTie = (j > 0 && Math.abs(a.logprob() - want.topLogprobs().get(j - 1).logprob()) < bound)
                        || (j + 1 < want.topLogprobs().size()
                        && Math.abs(a.logprob() - want.topLogprobs().get(j + 1).logprob()) < bound);
                assertTrue(nearTie, what + ", top " + j + ": id " + b.id() + " instead of " + a.id());
            }
        }
    }

    /** A prefill of all seven, then 10 decode steps fed with {@code feed}'s tokens (its own when empty). */
    private static List<List<SampledResult>> run(StageExecutor s, List<List<SampledResult>> feed) {
        List<List<SampledResult>> steps = new ArrayList<>();
        for (int step = 0; step <= 10; step++) {
            List<StageEntry> entries = new ArrayList<>();
            for (int q = 0; q < SETUPS.length; q++) {
                int[] table = {1 + 2 * q, 2 + 2 * q};                 // block 0 is the warm-up's
                if (step == 0) {
                    entries.add(new StageEntry(q, PROMPT, 0, table, true, SETUPS[q], 0));
                } else {
                    int token = (feed.isEmpty() ? steps : feed).get(step - 1).get(q).tokenId();
                    entries.add(new StageEntry(q, new int[] {token}, PROMPT.length + step - 1, table, true, null,
                            step));
                }
            }
            steps.add(s.execute(entries, null, List.of()).sampled());
        }
        return steps;
    }
}
