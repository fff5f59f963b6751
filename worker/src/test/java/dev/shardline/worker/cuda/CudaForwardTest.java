package dev.shardline.worker.cuda;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.shardline.worker.cuda.GpuTestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The whole forward pass on random-weight demo models: CudaKernels (PRECISE GEMM) gives the reference's greedy
 * tokens, through a prompt prefilled in two chunks (the second attends to the first in the cache, GEMM path) and
 * decode steps (matvec path) ({@link ForwardRun}). Every step's logits are within
 * {@link ForwardNumericsTest#logitsBound} of the reference, derived from the same model run with CUDA's matmul
 * numerics simulated on the CPU ({@link SimulatedCudaKernels}); {@link ForwardNumericsTest} shows that bound fails a
 * PRECISE GEMM without its low part.
 */
@Tag("gpu")
class CudaForwardTest {

    @Test
    void tinyModelGreedyTokensEqualTheReference(@TempDir Path dir) throws Exception {
        run(dir, ForwardNumericsTest.TINY);
    }

    @Test
    void smallShapedModelGreedyTokensEqualTheReference(@TempDir Path dir) throws Exception {
        run(dir, ForwardNumericsTest.SMALL);
    }

    private void run(Path dir, ModelConfig config) throws Exception {
        GpuTestSupport.requireGpu();
        DemoCheckpointWriter.writeWeights(config, dir, 1, 7, null);
        int layers = config.numHiddenLayers();
        try (ModelWeights w = CheckpointLoader.load(dir, config, LayerRange.whole(layers), null);
             CudaKernels cuda = CudaBackend.create(1)) {
            cuda.uploadAll(w, null);
            ForwardRun ref = ForwardRun.greedy(w, config, new ReferenceKernels());
            ForwardRun simulated = ForwardRun.greedy(w, config, new SimulatedCudaKernels(GemmNumerics.Path.PRECISE));
            double bound = ForwardNumericsTest.logitsBound(simulated.error(ref));
            ForwardRun gpu = ForwardRun.greedy(w, config, cuda);
            for (int step = 0; step < ref.logits().size(); step++) {
                assertClose("logits of step " + step, ref.logits().get(step), gpu.logits().get(step), bound);
            }
            assertEquals(ref.tokens(), gpu.tokens());
        }
    }
}
