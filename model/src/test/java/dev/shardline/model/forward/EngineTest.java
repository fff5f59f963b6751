package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.engine.GenerationResult;
import dev.shardline.model.engine.NextToken;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineTest {
    static final ModelConfig CONFIG = InMemoryWeights.config(64, 2, 4, 2, 128, 256, true);

    static final NextToken GREEDY = logits -> {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    };

    @Test
    void concurrentSequencesGenerateWhatEachGeneratesAlone() {
        try (ModelWeights w = InMemoryWeights.create(CONFIG, LayerRange.whole(2), 5)) {
            SplittableRandom r = new SplittableRandom(1);
            int[][] prompts = new int[6][];
            for (int i = 0; i < prompts.length; i++) prompts[i] = ForwardInvariantsTest.tokens(r, 1 + i * 7 % 23);
            for (int[] p : prompts) for (int j = 0; j < p.length; j++) p[j] %= CONFIG.vocabSize();
            int[][] alone = new int[prompts.length][];
            for (int i = 0; i < prompts.length; i++) {
                Engine e = new Engine(new Qwen2Forward(w, new ReferenceKernels()), new EngineOptions(32, 4, 64));
                alone[i] = e.generate(prompts[i], 12, Set.of(), GREEDY, TokenListener.NONE).tokens();
                assertEquals(0, e.usedBlocks(), "blocks freed after the sequence ends");
            }
            // a small token budget forces chunked prefills interleaved with decodes
            Engine e = new Engine(new Qwen2Forward(w, new ReferenceKernels()), new EngineOptions(64, 4, 9));
            int[] ids = new int[prompts.length];
            for (int i = 0; i < prompts.length; i++) ids[i] = e.submit(prompts[i], 12, Set.of(), GREEDY, TokenListener.NONE);
            e.runUntilDone();
            for (int i = 0; i < prompts.length; i++) {
                GenerationResult res = e.result(ids[i]);
                assertArrayEquals(alone[i], res.tokens(), "sequence " + i);
                assertEquals(FinishReason.LENGTH, res.finishReason());
            }
            assertEquals(0, e.usedBlocks());
        }
    }

    @Test
    void stopsOnStopIdsAndOnTheListener() {
        try (ModelWeights w = InMemoryWeights.create(CONFIG, LayerRange.whole(2), 5)) {
            Engine e = new Engine(new Qwen2Forward(w, new ReferenceKernels()), new EngineOptions(32, 4, 64));
            int[] free = e.generate(new int[]{1, 2, 3}, 8, Set.of(), GREEDY, TokenListener.NONE).tokens();
            GenerationResult stopped = e.generate(new int[]{1, 2, 3}, 8, Set.of(free[2]), GREEDY, TokenListener.NONE);
            assertEquals(FinishReason.STOP, stopped.finishReason());
            assertTrue(stopped.tokens().length <= 3);
            assertEquals(free[2], stopped.tokens()[stopped.tokens().length - 1]);
            int[] seen = {0};
            GenerationResult cancelled = e.generate(new int[]{1, 2, 3}, 8, Set.of(), GREEDY, t -> ++seen[0] < 2);
            assertEquals(FinishReason.CANCELLED, cancelled.finishReason());
            assertEquals(2, cancelled.tokens().length);
            assertEquals(0, e.usedBlocks());
        }
    }

    @Test
    void rejectsBadRequestsWithClearMessages() {
        try (ModelWeights w = InMemoryWeights.create(CONFIG, LayerRange.whole(2), 5)) {
            Engine e = new Engine(new Qwen2Forward(w, new ReferenceKernels()), new EngineOptions(4, 4, 64));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> e.submit(new int[0], 4, Set.of(), GREEDY, TokenListener.NONE)).getMessage().contains("empty"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> e.submit(new int[]{1, 999}, 4, Set.of(), GREEDY, TokenListener.NONE)).getMessage().contains("999"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> e.submit(new int[]{1}, 100, Set.of(), GREEDY, TokenListener.NONE)).getMessage().contains("KV cache capacity"));
        }
    }
}
