package dev.shardline.coordinator.schedule;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.json.Json;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scheduler drives a real forward pass (a tiny random checkpoint, one KV cache numbered by the scheduler's
 * blocks): greedy tokens are the same with plenty of blocks, with so few that sequences are preempted and
 * recomputed, and when each sequence runs alone in the single-process engine.
 */
class SchedulerGreedyModelTest {
    static final ModelConfig CONFIG = new ModelConfig("qwen2", 64, 128, 2, 4, 2, 512, 1e-6, 1e6, 1024, false, null,
            "silu", "bfloat16", 1, List.of(2));
    static final int MAX_TOKENS = 20;

    @TempDir
    Path dir;

    @Test
    void preemptionAndResumptionReproduceTheGreedyTokens() throws IOException {
        Files.writeString(dir.resolve("config.json"), Json.writePretty(CONFIG.toJsonMap()) + "\n");
        DemoCheckpointWriter.writeWeights(CONFIG, dir, 1, 11, null);
        SplittableRandom r = new SplittableRandom(3);
        int[][] prompts = new int[8][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = new int[3 + i * 5];
            for (int j = 0; j < prompts[i].length; j++) prompts[i][j] = r.nextInt(CONFIG.vocabSize());
        }
        try (ModelWeights w = CheckpointLoader.load(dir, CONFIG, LayerRange.whole(2), null)) {
            Qwen2Forward forward = new Qwen2Forward(w, new ReferenceKernels());
            Outcome plenty = run(forward, prompts, new SchedulerConfig(2, 32, 8, 200, 4, 1024));
            // 16 blocks of 4 = 64 tokens: the longest sequence (38 + 20) fits alone, all eight together do not
            Outcome tight = run(forward, prompts, new SchedulerConfig(3, 16, 8, 16, 4, 1024));
            assertEquals(0, plenty.preemptions);
            assertTrue(tight.preemptions > 0, "the tight run must preempt");
            for (int i = 0; i < prompts.length; i++) {
                assertEquals(MAX_TOKENS, plenty.tokens[i].length);
                assertArrayEquals(plenty.tokens[i], tight.tokens[i], "sequence " + i + " after preemption");
                Engine alone = new Engine(new Qwen2Forward(w, new ReferenceKernels()), new EngineOptions(32, 4, 64));
                int[] expected = alone.generate(prompts[i], MAX_TOKENS, Set.of(), SchedulerGreedyModelTest::argmax,
                        TokenListener.NONE).tokens();
                assertArrayEquals(expected, plenty.tokens[i], "sequence " + i + " against the engine alone");
            }
        }
    }

    record Outcome(int[][] tokens, long preemptions) {
    }

    /** Sends micro-batches until `stages` are in flight, then runs the oldest through the model (a pipeline's order). */
    static Outcome run(Qwen2Forward forward, int[][] prompts, SchedulerConfig cfg) {
        Map<Long, List<Integer>> out = new HashMap<>();
        Map<Long, FinishReason> finished = new HashMap<>();
        Scheduler s = new Scheduler(cfg, new SchedulerListener() {
            @Override
            public void onToken(long id, int token, float logprob, int index) {
                out.computeIfAbsent(id, k -> new ArrayList<>()).add(token);
            }

            @Override
            public void onFinished(long id, FinishReason reason, int generated) {
                finished.put(id, reason);
            }
        }, StopPolicy.NONE);
        long[] ids = new long[prompts.length];
        for (int i = 0; i < prompts.length; i++) ids[i] = s.submit(Request.ofLength(prompts[i], MAX_TOKENS));
        KvCache cache = KvCache.onHeap(CONFIG, LayerRange.whole(2), cfg.kvBlocks(), cfg.blockSize());
        ArrayDeque<MicroBatch> flying = new ArrayDeque<>();
        while (s.hasWork() || !flying.isEmpty()) {
            for (Optional<MicroBatch> mb = s.nextMicroBatch(); mb.isPresent(); mb = s.nextMicroBatch()) {
                flying.addLast(mb.get());
            }
            MicroBatch mb = flying.pollFirst();
            List<SequenceStep> steps = mb.entries().stream().map(BatchEntry::toSequenceStep).toList();
            List<SampledTokenResult> results = new ArrayList<>();
            if (!steps.isEmpty()) {
                ForwardResult fr = forward.forward(steps, null, cache);
                List<BatchEntry> sampled = mb.logitEntries();
                for (int j = 0; j < sampled.size(); j++) {
                    float[] row = fr.logitsRow(j);
                    int t = argmax(row);
                    results.add(new SampledTokenResult(sampled.get(j).sequenceId(), t, logSoftmax(row, t)));
                }
            }
            s.onResult(mb.stepId(), results);
        }
        assertEquals(0, s.usedBlocks());
        int[][] tokens = new int[prompts.length][];
        for (int i = 0; i < prompts.length; i++) {
            assertEquals(FinishReason.LENGTH, finished.get(ids[i]));
            tokens[i] = out.get(ids[i]).stream().mapToInt(Integer::intValue).toArray();
        }
        return new Outcome(tokens, s.preemptionCount());
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    static float logSoftmax(float[] logits, int t) {
        double max = logits[argmax(logits)];
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        return (float) (logits[t] - max - Math.log(sum));
    }
}
