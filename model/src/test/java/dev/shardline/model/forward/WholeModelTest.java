package dev.shardline.model.forward;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.NextToken;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The whole tiny demo model, written to real safetensors files and memory-mapped: the CPU backend agrees with the
 * reference on 64 greedy tokens and on last-position logits within 1e-3 of the largest |logit| (bf16 weights,
 * f32 activations; the backends differ only in summation order, observed differences are ~1e-6 relative).
 */
class WholeModelTest {
    @TempDir
    static Path dir;
    static ModelWeights weights;

    static final NextToken GREEDY = logits -> {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    };

    @BeforeAll
    static void writeTinyModel() {
        DemoCheckpointWriter.write(DemoPreset.TINY, -1, dir, 1, 99, null, null, null);
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        weights = CheckpointLoader.load(dir, config, LayerRange.whole(config.numHiddenLayers()), null);
    }

    @AfterAll
    static void close() {
        weights.close();
    }

    @Test
    void cpuAndReferenceAgreeOnLogitsAndOn64GreedyTokens() {
        int[] prompt = {9707, 11, 1879, 0, 151644, 872, 198, 13048, 151645, 198};
        try (Kernels ref = new ReferenceKernels(); Kernels cpu = new VectorKernels(2)) {
            float[] refLogits = lastLogits(ref, prompt);
            float[] cpuLogits = lastLogits(cpu, prompt);
            float max = 0, err = 0;
            for (int i = 0; i < refLogits.length; i++) {
                max = Math.max(max, Math.abs(refLogits[i]));
                err = Math.max(err, Math.abs(refLogits[i] - cpuLogits[i]));
            }
            if (err > 1e-3f * max) throw new AssertionError("logits differ by " + err + " (max |logit| " + max + ")");

            int[] refTokens = greedy(ref, prompt);
            int[] cpuTokens = greedy(cpu, prompt);
            assertArrayEquals(refTokens, cpuTokens, "64 greedy tokens");
        }
    }

    @Test
    void weightsCopiedIntoMemoryGiveTheSameLogitsAsTheMapping() {
        int[] prompt = {9707, 11, 1879};
        ModelConfig config = weights.config();
        try (Kernels ref = new ReferenceKernels();
             ModelWeights copy = dev.shardline.model.weights.ResidentWeights.copyOf(
                     CheckpointLoader.load(dir, config, LayerRange.whole(config.numHiddenLayers()), null), null)) {
            float[] mapped = lastLogits(ref, prompt);
            KvCache cache = KvCache.onHeap(config, copy.range(), 4, 16);
            float[] resident = new Qwen2Forward(copy, ref).forward(List.of(SequenceStep.ofTokens(prompt, 0, new int[]{0}, true)),
                    null, cache).logitsRow(0);
            assertArrayEquals(mapped, resident);
        }
    }

    private static float[] lastLogits(Kernels k, int[] prompt) {
        Qwen2Forward f = new Qwen2Forward(weights, k);
        KvCache cache = KvCache.onHeap(weights.config(), weights.range(), 4, 16);
        return f.forward(List.of(SequenceStep.ofTokens(prompt, 0, new int[]{0, 1, 2, 3}, true)), null, cache).logitsRow(0);
    }

    private static int[] greedy(Kernels k, int[] prompt) {
        Engine e = new Engine(new Qwen2Forward(weights, k), new EngineOptions(8, 16, 64));
        return e.generate(prompt, 64, Set.of(), GREEDY, TokenListener.NONE).tokens();
    }
}
