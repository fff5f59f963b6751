package dev.shardline.cli.http;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.NextToken;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** Greedy generation in this process with the single-process engine: the reference the cluster must equal. */
final class OneProcess {
    static final NextToken GREEDY = logits -> {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    };

    static List<Integer> greedy(Path dir, int[] prompt, int n) {
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        try (ModelWeights w = CheckpointLoader.load(dir, config, LayerRange.whole(config.numHiddenLayers()), null);
             VectorKernels k = new VectorKernels(1)) {
            Engine e = new Engine(new Qwen2Forward(w, k), new EngineOptions(64, 16, 512));
            return Arrays.stream(e.generate(prompt, n, Set.of(), GREEDY, TokenListener.NONE).tokens()).boxed().toList();
        }
    }

    private OneProcess() {
    }
}
