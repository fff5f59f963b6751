package dev.shardline.cli.bench;

import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.LocalModel;
import dev.shardline.model.engine.NextToken;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** C concurrent greedy generations on the single-process engine (continuous batching in one process). */
public final class SingleProcessLoad {
    static final NextToken GREEDY = logits -> {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    };

    public static LoadRun run(LocalModel model, int[][] prompts, int genTokens, String setup) {
        int c = prompts.length;
        int maxPrompt = 0;
        for (int[] p : prompts) maxPrompt = Math.max(maxPrompt, p.length);
        Engine engine = new Engine(model.forward(), EngineOptions.forContext(maxPrompt + genTokens + 16, c));
        long start = System.nanoTime();
        long[][] times = new long[c][genTokens];
        int[] count = new int[c];
        for (int i = 0; i < c; i++) {
            int seq = i;
            engine.submit(prompts[i], genTokens, Set.of(), GREEDY, token -> {
                if (count[seq] < genTokens) times[seq][count[seq]++] = System.nanoTime();
                return true;
            });
        }
        engine.runUntilDone();
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < c; i++) {
            total += count[i];
            ttft.add((times[i][0] - start) / 1e6);
            for (int j = 1; j < count[i]; j++) itl.add((times[i][j] - times[i][j - 1]) / 1e6);
        }
        return new LoadRun(setup, c, total, seconds, LoadRun.toArray(ttft), LoadRun.toArray(itl), new double[0], 0);
    }

    private SingleProcessLoad() {
    }
}
