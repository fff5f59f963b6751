package dev.shardline.worker.cuda;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The forward-pass workload of the whole-model checks: 37 prompt tokens prefilled in chunks of 20 and 17 (the
 * second attends to the first in a paged cache with shuffled blocks; both on the GEMM path), then 10 greedy decode
 * steps (matvec path). Shared by {@link CudaForwardTest} (GPU) and {@link ForwardNumericsTest} (CPU simulation).
 *
 * @param tokens the 11 greedy tokens
 * @param logits the logits row each was chosen from
 */
record ForwardRun(List<Integer> tokens, List<float[]> logits) {

    static ForwardRun greedy(ModelWeights w, ModelConfig config, Kernels kernels) {
        int blockSize = 16;
        int[] table = {3, 0, 5, 1, 4, 2};                         // 96 positions, shuffled blocks
        int[] prompt = new int[37];
        for (int i = 0; i < prompt.length; i++) prompt[i] = (i * 7919 + 13) % config.vocabSize();
        List<Integer> tokens = new ArrayList<>();
        List<float[]> logits = new ArrayList<>();
        Qwen2Forward forward = new Qwen2Forward(w, kernels);
        try (KvCache cache = KvCache.allocate(kernels, config, LayerRange.whole(config.numHiddenLayers()), 8, blockSize)) {
            forward.forward(List.of(SequenceStep.ofTokens(Arrays.copyOfRange(prompt, 0, 20), 0, table, false)), null, cache);
            ForwardResult r = forward.forward(List.of(SequenceStep.ofTokens(Arrays.copyOfRange(prompt, 20, 37), 20,
                    table, true)), null, cache);
            int position = 37;
            for (int step = 0; step <= 10; step++) {
                float[] row = r.logitsRow(0);
                int best = 0;
                for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
                logits.add(row.clone());
                tokens.add(best);
                if (step == 10) break;
                r = forward.forward(List.of(SequenceStep.ofTokens(new int[] {best}, position++, table, true)), null, cache);
            }
        } finally {
            forward.close();
        }
        return new ForwardRun(tokens, logits);
    }

    /** The largest normalised error of any step's logits against {@code reference}'s. */
    double error(ForwardRun reference) {
        double worst = 0;
        for (int i = 0; i < logits.size(); i++) {
            worst = Math.max(worst, GemmNumerics.error(reference.logits.get(i), logits.get(i)));
        }
        return worst;
    }
}
