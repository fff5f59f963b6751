package dev.shardline.worker.cuda;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU side of {@link CudaForwardTest}'s logits bound (runs everywhere): the whole model with CUDA's matmul
 * numerics simulated ({@link SimulatedCudaKernels}) keeps the reference's greedy tokens, and the same model with a
 * PRECISE GEMM that drops its low part exceeds {@link #logitsBound} of the simulated error by far.
 */
class ForwardNumericsTest {
    static final ModelConfig TINY = new ModelConfig("qwen2", 64, 128, 3, 4, 2, 512, 1e-6, 1e6, 4096, false, null, "silu",
            "bfloat16", 0, List.of(1));
    static final ModelConfig SMALL = new ModelConfig("qwen2", 896, 4864, 2, 14, 2, 4096, 1e-6, 1e6, 4096, true, null,
            "silu", "bfloat16", 0, List.of(1));

    /**
     * The GPU's logits bound for a model whose simulated CUDA error is {@code simulated}: 8x it (the matmuls' f32
     * noise is modelled, not reproduced), but at least 2e-5: the other ops' f32 arithmetic (attention's online
     * softmax, rsqrtf, sin/cos) is not simulated and is checked to 1e-5 op by op.
     */
    static double logitsBound(double simulated) {
        return Math.max(8 * simulated, 2e-5);
    }

    @Test
    void theLogitsBoundSeparatesPreciseFromPreciseWithoutItsLowPart(@TempDir Path dir) throws Exception {
        for (ModelConfig config : List.of(TINY)) {       // the small model's run takes ~10 s more: on the GPU only
            Path d = dir.resolve(config.hiddenSize() + "");
            DemoCheckpointWriter.writeWeights(config, d, 1, 7, null);
            try (ModelWeights w = CheckpointLoader.load(d, config, LayerRange.whole(config.numHiddenLayers()), null)) {
                ForwardRun ref = ForwardRun.greedy(w, config, new ReferenceKernels());
                ForwardRun precise = ForwardRun.greedy(w, config, new SimulatedCudaKernels(GemmNumerics.Path.PRECISE));
                ForwardRun broken = ForwardRun.greedy(w, config,
                        new SimulatedCudaKernels(GemmNumerics.Path.PRECISE_WITHOUT_LO));
                double e = precise.error(ref);
                double eb = broken.error(ref);
                double bound = logitsBound(e);
                System.out.printf("hidden %d: logits error PRECISE %.2e (bound %.2e), PRECISE without lo %.2e%n",
                        config.hiddenSize(), e, bound, eb);
                assertEquals(ref.tokens(), precise.tokens(), "PRECISE numerics keep the greedy tokens");
                assertTrue(eb > 3 * bound, "hidden " + config.hiddenSize() + ": PRECISE without lo (" + eb
                        + ") must fail the logits bound " + bound);
            }
        }
    }
}
