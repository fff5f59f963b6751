package dev.shardline.worker.stage;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Three stages fed by hand produce the tokens one whole-model stage produces, with sampling on the last. */
class StageExecutorTest {
    static final ModelConfig CONFIG = new ModelConfig("qwen2", 64, 128, 3, 4, 2, 512, 1e-6, 1e6, 4096, false, null,
            "silu", "bfloat16", 0, List.of(1));
    @TempDir
    static Path dir;
    static final List<ModelWeights> opened = new ArrayList<>();

    @BeforeAll
    static void write() {
        DemoCheckpointWriter.writeWeights(CONFIG, dir, 2, 5, null);
    }

    @AfterAll
    static void close() {
        opened.forEach(ModelWeights::close);
    }

    static StageExecutor stage(LayerRange range) {
        ModelWeights w = CheckpointLoader.load(dir, CONFIG, range, null);
        opened.add(w);
        return new StageExecutor(new Qwen2Forward(w, new ReferenceKernels()), KvCache.onHeap(CONFIG, range, 8, 4), 500);
    }

    static List<Integer> generate(List<StageExecutor> stages, int[] prompt, SamplingParams params, int n) {
        int[] table = {3, 1, 4, 0, 2, 5, 6, 7};
        List<Integer> out = new ArrayList<>();
        // prefill in two chunks: sampling params travel with the first, logits are asked for on the second
        int split = prompt.length / 2;
        run(stages, new StageEntry(9, java.util.Arrays.copyOf(prompt, split), 0, table, false, SamplingSetup.of(params), 0));
        SampledResult r = run(stages, new StageEntry(9, java.util.Arrays.copyOfRange(prompt, split, prompt.length), split,
                table, true, null, 0));
        out.add(r.tokenId());
        for (int i = 1; i < n; i++) {
            r = run(stages, new StageEntry(9, new int[]{r.tokenId()}, prompt.length + i - 1, table, true, null, i));
            out.add(r.tokenId());
        }
        return out;
    }

    static SampledResult run(List<StageExecutor> stages, StageEntry entry) {
        float[] hidden = null;
        StageOutput out = null;
        for (StageExecutor s : stages) {
            out = s.execute(List.of(entry), hidden, List.of());
            hidden = out.hidden();
        }
        return out.sampled().isEmpty() ? null : out.sampled().getFirst();
    }

    @Test
    void threeStagesGenerateWhatOneStageGenerates() {
        int[] prompt = {5, 17, 300, 42, 7, 99, 12};
        SamplingParams seeded = SamplingParams.defaults().withTemperature(0.8).withTopP(0.9).withSeed(11L);
        for (SamplingParams p : List.of(SamplingParams.greedy(), seeded)) {
            List<Integer> one = generate(List.of(stage(LayerRange.whole(3))), prompt, p, 10);
            List<Integer> three = generate(List.of(stage(new LayerRange(0, 1, true, false)),
                    stage(new LayerRange(1, 2, false, false)), stage(new LayerRange(2, 3, false, true))), prompt, p, 10);
            assertEquals(one, three, "sampling " + p);
            assertEquals(10, one.size());
        }
    }

    @Test
    void lastStageForgetsFinishedSequencesAndRejectsUnknownOnes() {
        StageExecutor s = stage(LayerRange.whole(3));
        s.execute(List.of(new StageEntry(1, new int[]{1, 2}, 0, new int[]{0}, true, SamplingSetup.of(SamplingParams.greedy()), 0)), null, List.of());
        assertEquals(1, s.trackedSequences());
        s.execute(List.of(new StageEntry(2, new int[]{3}, 0, new int[]{1}, true, SamplingSetup.of(SamplingParams.greedy()), 0)), null, List.of(1L));
        assertEquals(1, s.trackedSequences());
        assertThrows(IllegalStateException.class,
                () -> s.execute(List.of(new StageEntry(1, new int[]{4}, 2, new int[]{0}, true, null, 1)), null, List.of()));
    }
}
