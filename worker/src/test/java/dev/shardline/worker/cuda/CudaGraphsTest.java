package dev.shardline.worker.cuda;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.forward.DeviceTokens;
import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.GreedyOnDevice;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.forward.StepGraphs;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.DrawEdits;
import dev.shardline.model.sampling.SeededDraw;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

import static dev.shardline.worker.cuda.GpuTestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * The same steps with every token chosen on the device (greedy rows, and drawn rows with top-k, top-p, min-p and a
 * bias and penalty) run the head inside the graph ({@link dev.shardline.model.forward.GraphHead}): ids and
 * log-probs equal the padded eager head's bit for bit, and the plain eager (gathered) head's ids, with log-probs
 * within 1e-4.
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

    /** Each step's device tokens as "sequence: id logprob-bits", and the graphs' counts. */
    private record DeviceRun(List<SortedMap<Integer, long[]>> tokens, CudaDecodeGraphs.Stats stats) {
    }

    @Test
    void theHeadInTheGraphChoosesThePaddedEagerTokens(@TempDir Path dir) throws Exception {
        GpuTestSupport.requireGpu();
        ModelConfig config = ForwardNumericsTest.TINY;
        DemoCheckpointWriter.writeWeights(config, dir, 1, 7, null);
        try (ModelWeights w = CheckpointLoader.load(dir, config, LayerRange.whole(config.numHiddenLayers()), null);
             CudaKernels cuda = CudaBackend.create(1)) {
            cuda.uploadAll(w, null);
            DecodeGraphPlan plan = new DecodeGraphPlan(true, 8, false);
            DeviceRun eager = runOnDevice(w, config, cuda, null);
            DeviceRun padded = runOnDevice(w, config, cuda,
                    new CudaDecodeGraphs(cuda, plan, CudaDecodeGraphs.Mode.PADDED_EAGER));
            DeviceRun graphs = runOnDevice(w, config, cuda,
                    new CudaDecodeGraphs(cuda, plan, CudaDecodeGraphs.Mode.GRAPHS));

            CudaDecodeGraphs.Stats s = graphs.stats();
            assertNull(s.lastFailure(), "a capture failed: " + s.lastFailure());
            assertEquals(4, s.captures(), s.toString());                   // the shapes of the test above
            assertEquals(6, s.replays(), s.toString());
            assertEquals(4, s.eager(), s.toString());
            System.out.println("decode graphs with the head: " + s);
            for (int step = 0; step < graphs.tokens().size(); step++) {
                SortedMap<Integer, long[]> g = graphs.tokens().get(step);
                SortedMap<Integer, long[]> p = padded.tokens().get(step);
                SortedMap<Integer, long[]> e = eager.tokens().get(step);
                assertEquals(e.keySet(), g.keySet(), "sequences of step " + step);
                for (int seq : g.keySet()) {
                    String at = "step " + step + ", sequence " + seq;
                    assertArrayEquals(p.get(seq), g.get(seq), at + ": graph vs padded eager, bit for bit");
                    assertEquals(e.get(seq)[0], g.get(seq)[0], at + ": token, graph vs eager");
                    float le = Float.intBitsToFloat((int) e.get(seq)[1]);
                    float lg = Float.intBitsToFloat((int) g.get(seq)[1]);
                    assertTrue(Math.abs(le - lg) <= 1e-4, at + ": log-prob " + lg + " vs eager " + le);
                }
            }
        }
    }

    /**
     * The steps of {@link #run} with every token chosen on the device: sequences 0, 2 and 4 greedy, 1 drawn with
     * top-k 40, top-p 0.9 and min-p 0.01, 3 drawn with a bias and presence penalty on a few tokens; the graphs'
     * head when {@code graphs} is set (the decode steps qualify), the eager head otherwise.
     */
    private static DeviceRun runOnDevice(ModelWeights w, ModelConfig config, CudaKernels cuda,
                                         CudaDecodeGraphs graphs) {
        int n = PROMPTS.length;
        int vocab = config.vocabSize();
        Qwen2Forward forward = new Qwen2Forward(w, cuda, graphs == null ? StepGraphs.NONE : graphs);
        List<SortedMap<Integer, long[]>> tokens = new ArrayList<>();
        DrawEdits edits = new DrawEdits(1f, 0f, 0.5f, new int[] {3, 17, 40}, new int[] {
                DrawEdits.BIAS, DrawEdits.OUTPUT, DrawEdits.BIAS | DrawEdits.OUTPUT}, new float[] {2f, 0f, -1f},
                new int[] {0, 1, 2});
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
                for (int i = 0; i < prompt.length; i++) prompt[i] = (i * 7919 + 13 * s + 5) % vocab;
                prefill.add(SequenceStep.ofTokens(prompt, 0, tables[s], true));
            }
            int[] position = PROMPTS.clone();
            int[] live = {0, 1, 2, 3, 4};
            List<SequenceStep> step = prefill;
            for (int k = 0; k <= STEPS; k++) {
                DeviceDraw[] draws = new DeviceDraw[live.length];
                boolean[] all = new boolean[live.length];
                for (int j = 0; j < live.length; j++) {
                    all[j] = true;
                    double u = SeededDraw.uniform(1234 + live[j], position[live[j]]);
                    if (live[j] == 1) draws[j] = new DeviceDraw(1 / 0.8f, 40, 0.9, 0.01, u);
                    if (live[j] == 3) draws[j] = new DeviceDraw(1f, -1, 1.0, 0.0, u, edits);
                }
                ForwardResult r = forward.forward(step, null, cache,
                        new GreedyOnDevice(cuda, all, vocab, new int[0], draws));
                assertEquals(0, r.logitSequences().length, "no row declined on this model, step " + k);
                DeviceTokens t = r.deviceTokens();
                SortedMap<Integer, long[]> byLive = new TreeMap<>();
                int[] chosen = new int[live.length];
                for (int j = 0; j < t.size(); j++) {
                    int seq = t.sequences()[j];
                    chosen[seq] = t.ids()[j];
                    byLive.put(live[seq], new long[] {t.ids()[j], Float.floatToRawIntBits(t.logprobs()[j])});
                }
                tokens.add(byLive);
                if (k == STEPS) break;
                if (k == 6) {                                          // sequences 3 and 4 end: 3 rows, bucket 4
                    live = new int[] {0, 1, 2};
                    chosen = Arrays.copyOf(chosen, 3);
                }
                if (k == 11) cuda.allocate(16).close();                // a free: every graph is stale
                List<SequenceStep> decode = new ArrayList<>();
                for (int j = 0; j < live.length; j++) {
                    int s = live[j];
                    decode.add(SequenceStep.ofTokens(new int[] {chosen[j]}, position[s]++, tables[s], true));
                }
                step = decode;
            }
        } finally {
            forward.close();
        }
        return new DeviceRun(tokens, graphs == null ? null : graphs.stats());
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
