package dev.shardline.worker.cuda;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.shardline.worker.cuda.GpuTestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The whole forward pass on random-weight demo models: CudaKernels (PRECISE GEMM) gives the reference's greedy
 * tokens, through a prompt prefilled in two chunks (the second attends to the first in the cache, GEMM path) and
 * decode steps (matvec path). Logits within 1e-3 of the reference (max-norm, relative).
 */
@Tag("gpu")
class CudaForwardTest {

    @Test
    void tinyModelGreedyTokensEqualTheReference(@TempDir Path dir) throws Exception {
        run(dir, new ModelConfig("qwen2", 64, 128, 3, 4, 2, 512, 1e-6, 1e6, 4096, false, null, "silu", "bfloat16",
                0, List.of(1)));
    }

    @Test
    void smallShapedModelGreedyTokensEqualTheReference(@TempDir Path dir) throws Exception {
        run(dir, new ModelConfig("qwen2", 896, 4864, 2, 14, 2, 4096, 1e-6, 1e6, 4096, true, null, "silu",
                "bfloat16", 0, List.of(1)));
    }

    private void run(Path dir, ModelConfig config) throws Exception {
        GpuTestSupport.requireGpu();
        DemoCheckpointWriter.writeWeights(config, dir, 1, 7, null);
        int layers = config.numHiddenLayers();
        try (ModelWeights w = CheckpointLoader.load(dir, config, LayerRange.whole(layers), null);
             CudaKernels cuda = CudaBackend.create(1)) {
            cuda.uploadAll(w, null);
            List<Integer> ref = greedy(w, config, new ReferenceKernels(), "reference");
            List<Integer> gpu = greedy(w, config, cuda, "cuda");
            assertEquals(ref, gpu);
        }
    }

    private final List<float[]> referenceLogits = new ArrayList<>();

    /** 37 prompt tokens in chunks of 20 and 17, then 10 greedy steps; returns the chosen tokens. */
    private List<Integer> greedy(ModelWeights w, ModelConfig config, Kernels kernels, String name) {
        int blockSize = 16;
        int[] table = {3, 0, 5, 1, 4, 2};                         // 96 positions, shuffled blocks
        int[] prompt = new int[37];
        for (int i = 0; i < prompt.length; i++) prompt[i] = (i * 7919 + 13) % config.vocabSize();
        List<Integer> tokens = new ArrayList<>();
        Qwen2Forward forward = new Qwen2Forward(w, kernels);
        try (KvCache cache = KvCache.allocate(kernels, config, LayerRange.whole(config.numHiddenLayers()), 8, blockSize)) {
            forward.forward(List.of(dev.shardline.model.forward.SequenceStep.ofTokens(
                    java.util.Arrays.copyOfRange(prompt, 0, 20), 0, table, false)), null, cache);
            ForwardResult r = forward.forward(List.of(dev.shardline.model.forward.SequenceStep.ofTokens(
                    java.util.Arrays.copyOfRange(prompt, 20, 37), 20, table, true)), null, cache);
            int position = 37;
            for (int step = 0; step <= 10; step++) {
                float[] logits = r.logitsRow(0);
                int best = 0;
                for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
                if (name.equals("reference")) {
                    referenceLogits.add(logits);
                } else {
                    assertClose("logits after " + position + " positions", referenceLogits.get(step), logits, 1e-3);
                }
                tokens.add(best);
                if (step == 10) break;
                r = forward.forward(List.of(dev.shardline.model.forward.SequenceStep.ofTokens(new int[] {best},
                        position++, table, true)), null, cache);
            }
        } finally {
            forward.close();
        }
        return tokens;
    }
}
