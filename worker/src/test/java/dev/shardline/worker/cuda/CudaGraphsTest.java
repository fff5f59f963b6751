package dev.shardline.worker.cuda;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.forward.StepGraphs;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.shardline.worker.cuda.GpuTestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Decode graphs against eager decode on the GPU, on the tiny demo model with the worker's bf16 cache: five sequences
 * (prompts of 7 to 120 tokens, one step of prefill) decode greedily for 14 steps; after step 6 two of them end
 * (bucket 8 becomes 4), the 120-token one crosses 128 positions (its split count changes: another graph), and
 * before step 11 the kernels free a buffer (every graph goes stale and is captured again).
 * <ul>
 *   <li>graphs vs the same steps padded but run eagerly ({@link CudaDecodeGraphs.Mode#PADDED_EAGER}): the same
 *       kernels with the same arguments, so every logit must be equal bit for bit;</li>
 *   <li>graphs vs plain eager steps (unpadded: other matvec token groups, other split counts): the same greedy
 *       tokens, logits within 4e-5 of each other (normalised: each GPU path is within the whole-model floor of
 *       2e-5 of the reference, {@link ForwardNumericsTest}).</li>
 * </ul>
 */
@Tag("gpu")
class CudaGraphsTest {

    private static final int[] PROMPTS = {7, 120, 30, 15, 64};
    private static final int STEPS = 14;               // decode steps
    private static final int BLOCK = 16;
    private static final int BLOCKS_PER_SEQUENCE = 10;     // 160 positions

    /** Tokens chosen at each step per sequence, and each step's logits rows. */
    private record Run(List<int[]> tokens, List<float[]> logits, CudaDecodeGraphs.Stats stats) {
    }

    @Test
    void graphsReplayTheEagerDecodeSteps(@TempDir Path dir) throws Exception {
        GpuTestSupport.requireGpu();
        ModelConfig config = ForwardNumericsTest.TINY;
        DemoCheckpointWriter.writeWeights(config, dir, 1, 7, null);
        try (ModelWeights w = CheckpointLoader.load(dir, config, LayerRange.whole(config.numHiddenLayers()), null);
             CudaKernels cuda = CudaBackend.create(1)) {
            cuda.uploadAll(w, null);
            DecodeGraphPlan plan = new DecodeGraphPlan(true, 8, false);
            Run eager = run(w, config, cuda, null);
            Run padded = run(w, config, cuda, new CudaDecodeGraphs(cuda, plan, CudaDecodeGraphs.Mode.PADDED_EAGER));
            Run graphs = run(w, config, cuda, new CudaDecodeGraphs(cuda, plan, CudaDecodeGraphs.Mode.GRAPHS));

            CudaDecodeGraphs.Stats s = graphs.stats();
            assertNull(s.lastFailure(), "a capture failed: " + s.lastFailure());
            // decode #0-5: 5 rows (bucket 8), 1 split: warm, capture, 4 replays; #6-7: bucket 4: warm, capture;
            // #8-10: 129+ positions, 2 splits: warm, capture, replay; #11-13 after the free: warm, capture, replay
            assertEquals(4, s.captures(), s.toString());
            assertEquals(6, s.replays(), s.toString());
            assertEquals(4, s.eager(), s.toString());
            System.out.println("decode graphs: " + s);
            for (int step = 0; step < graphs.logits().size(); step++) {
                assertArrayEquals(padded.tokens().get(step), graphs.tokens().get(step), "tokens of step " + step);
                assertArrayEquals(padded.logits().get(step), graphs.logits().get(step),
                        "graph logits equal the padded eager step's, step " + step);
                assertArrayEquals(eager.tokens().get(step), graphs.tokens().get(step), "tokens of step " + step);
                assertClose("logits of step " + step + " (graph vs eager)", eager.logits().get(step),
                        graphs.logits().get(step), 4e-5);
            }
        }
    }

    private static Run run(ModelWeights w, ModelConfig config, CudaKernels cuda, CudaDecodeGraphs graphs) {
        int n = PROMPTS.length;
        Qwen2Forward forward = new Qwen2Forward(w, cuda, graphs == null ? StepGraphs.NONE : graphs);
        List<int[]> tokens = new ArrayList<>();
        List<float[]> logits = new ArrayList<>();
        try (KvCache cache = KvCache.allocate(cuda::allocateKv, config, LayerRange.whole(config.numHiddenLayers()),
                n * BLOCKS_PER_SEQUENCE, BLOCK)) {
            int[][] tables = new int[n][BLOCKS_PER_SEQUENCE];
            for (int s = 0; s < n; s++) {
                for (int b = 0; b < BLOCKS_PER_SEQUENCE; b++) {
                    tables[s][b] = (b * n + s * 3) % (n * BLOCKS_PER_SEQUENCE);
                }
            }
            List<SequenceStep> prefill = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                int[] prompt = new int[PROMPTS[s]];
                for (int i = 0; i < prompt.length; i++) prompt[i] = (i * 7919 + 13 * s + 5) % config.vocabSize();
                prefill.add(SequenceStep.ofTokens(prompt, 0, tables[s], true));
            }
            ForwardResult r = forward.forward(prefill, null, cache);
            int[] position = PROMPTS.clone();
            int[] live = {0, 1, 2, 3, 4};
            for (int step = 0; step <= STEPS; step++) {
                int[] chosen = new int[live.length];
                for (int j = 0; j < live.length; j++) chosen[j] = argmax(r.logitsRow(j));
                tokens.add(chosen);
                logits.add(r.logits().clone());
                if (step == STEPS) break;
                if (step == 6) {                                       // sequences 3 and 4 end: 3 rows, bucket 4
                    live = new int[] {0, 1, 2};
                    chosen = Arrays.copyOf(chosen, 3);
                }
                if (step == 11) cuda.allocate(16).close();             // a free: every graph is stale
                List<SequenceStep> decode = new ArrayList<>();
                for (int j = 0; j < live.length; j++) {
                    int s = live[j];
                    decode.add(SequenceStep.ofTokens(new int[] {chosen[j]}, position[s]++, tables[s], true));
                }
                r = forward.forward(decode, null, cache);
            }
        } finally {
            forward.close();
        }
        return new Run(tokens, logits, graphs == null ? null : graphs.stats());
    }

    private static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        return best;
    }
}
