package dev.shardline.worker.stage;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenLogprob;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The last stage samples from the coordinator's history: forced tokens, top log-probs and logit bias, a history made
 * of the entries' tokens (not of what the stage sampled), and seeded draws that continue exactly when a sequence's
 * sampler is created again for a recomputed prefill, on the same stage or another one.
 */
class LastStageSamplingTest {
    static final int VOCAB_LIMIT = 500;
    static final int[] PROMPT = {5, 17, 300, 42, 7, 99, 12};
    static final int[] TABLE = {3, 1, 4, 0, 2, 5, 6, 7};
    @TempDir
    static Path dir;
    static ModelWeights weights;

    @BeforeAll
    static void write() {
        DemoCheckpointWriter.writeWeights(StageExecutorTest.CONFIG, dir, 2, 5, null);
        weights = CheckpointLoader.load(dir, StageExecutorTest.CONFIG, LayerRange.whole(3), null);
    }

    @AfterAll
    static void close() {
        weights.close();
    }

    static StageExecutor wholeModel() {
        return new StageExecutor(new Qwen2Forward(weights, new ReferenceKernels()),
                KvCache.onHeap(StageExecutorTest.CONFIG, LayerRange.whole(3), 8, 4), VOCAB_LIMIT);
    }

    /** The logits after tokens, from a fresh prefill of all of them, cut to the sampled vocabulary. */
    static float[] rawLogits(int[] tokens) {
        Qwen2Forward f = new Qwen2Forward(weights, new ReferenceKernels());
        KvCache cache = KvCache.onHeap(StageExecutorTest.CONFIG, LayerRange.whole(3), 8, 4);
        float[] row = f.forward(List.of(SequenceStep.ofTokens(tokens, 0, TABLE, true)), null, cache).logitsRow(0);
        return Arrays.copyOf(row, VOCAB_LIMIT);
    }

    /** log_softmax(logits)[id], in double. */
    static double logprob(float[] logits, int id) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        return logits[id] - max - Math.log(sum);
    }

    static List<Integer> topIds(float[] logits, int n) {
        Integer[] ids = new Integer[logits.length];
        for (int i = 0; i < ids.length; i++) ids[i] = i;
        Arrays.sort(ids, Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i));
        return Arrays.asList(ids).subList(0, n);
    }

    static SampledResult step(StageExecutor s, StageEntry e) {
        List<SampledResult> out = s.execute(List.of(e), null, List.of()).sampled();
        return out.isEmpty() ? null : out.getFirst();
    }

    /**
     * Drives a sequence the way the coordinator does: the setup with the first entry, the prefix (prompt, or prompt +
     * tokens generated before a recomputation) in two chunks, then one decode entry per token, carrying back the
     * token the coordinator decided on (its own choice when given, else what was sampled).
     */
    static List<SampledResult> drive(StageExecutor s, long id, SamplingSetup setup, int[] prefix, int generatedBefore,
                                     int n, int[] coordinatorTokens) {
        List<SampledResult> out = new ArrayList<>();
        int split = prefix.length / 2;
        step(s, new StageEntry(id, Arrays.copyOf(prefix, split), 0, TABLE, false, setup, generatedBefore));
        SampledResult r = step(s, new StageEntry(id, Arrays.copyOfRange(prefix, split, prefix.length), split, TABLE, true,
                null, generatedBefore));
        out.add(r);
        for (int i = 1; i < n; i++) {
            int fed = coordinatorTokens != null && i - 1 < coordinatorTokens.length ? coordinatorTokens[i - 1] : r.tokenId();
            r = step(s, new StageEntry(id, new int[] {fed}, prefix.length + i - 1, TABLE, true, null, generatedBefore + i));
            out.add(r);
        }
        return out;
    }

    static int[] ids(List<SampledResult> rs) {
        return rs.stream().mapToInt(SampledResult::tokenId).toArray();
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void forcedTokensReplaceTheDrawAndKeepTheModelsLogprobsAndAlternatives() {
        int[] forced = {7, 300, 11};
        SamplingParams p = SamplingParams.defaults().withTemperature(0.8).withSeed(21L).withTopLogprobs(3);
        List<SampledResult> rs = drive(wholeModel(), 1, new SamplingSetup(p, PROMPT.length, forced), PROMPT, 0, 5, null);
        int[] got = ids(rs);
        assertEquals(List.of(7, 300, 11), Arrays.stream(got).limit(3).boxed().toList());
        for (int i = 0; i < rs.size(); i++) {
            float[] logits = rawLogits(concat(PROMPT, Arrays.copyOf(got, i)));
            SampledResult r = rs.get(i);
            assertEquals(logprob(logits, r.tokenId()), r.logprob(), 1e-4, "token " + i + ": the model's log-prob");
            assertEquals(topIds(logits, 3), r.topLogprobs().stream().map(TokenLogprob::id).toList(), "token " + i);
            for (TokenLogprob t : r.topLogprobs()) assertEquals(logprob(logits, t.id()), t.logprob(), 1e-4);
        }
        // after the forced ones, the tokens are the draws of an unforced sampler given the same history
        List<SampledResult> unforced = drive(wholeModel(), 2, new SamplingSetup(p, PROMPT.length, new int[0]), PROMPT,
                0, 5, forced);
        assertEquals(got[3], unforced.get(3).tokenId());
        assertEquals(got[4], unforced.get(4).tokenId());
        assertThrows(IllegalArgumentException.class, () -> drive(wholeModel(), 3,
                new SamplingSetup(p, PROMPT.length, new int[] {VOCAB_LIMIT}), PROMPT, 0, 1, null),
                "a forced id the stage may not emit");
    }

    /** Greedy choice with a repetition penalty of 1000 on the history's tokens (which all but bans them). */
    static int greedyBanning(float[] logits, int[] history) {
        float[] x = logits.clone();
        for (int t : history) x[t] = x[t] > 0 ? x[t] / 1000 : x[t] * 1000;
        return topIds(x, 1).getFirst();
    }

    @Test
    void theHistoryIsWhatTheCoordinatorSentNotWhatWasSampled() {
        SamplingSetup setup = new SamplingSetup(SamplingParams.greedy().withPenalties(0, 0, 1000), PROMPT.length, new int[0]);
        int t0 = drive(wholeModel(), 1, setup, PROMPT, 0, 1, null).getFirst().tokenId();
        assertEquals(greedyBanning(rawLogits(PROMPT), PROMPT), t0);
        // the coordinator continues with y instead of t0 (a forced or rewritten token): find a y for which it matters
        // whether the penalty knows y (right) or t0 (what a stage that kept its own samples would know)
        int y = -1;
        int right = -1;
        for (int c = 0; c < VOCAB_LIMIT && y < 0; c++) {
            int candidate = c;
            if (c == t0 || Arrays.stream(PROMPT).anyMatch(t -> t == candidate)) continue;
            float[] logits = rawLogits(concat(PROMPT, new int[] {c}));
            int knowsY = greedyBanning(logits, concat(PROMPT, new int[] {c}));
            if (knowsY != greedyBanning(logits, concat(PROMPT, new int[] {t0}))) {
                y = c;
                right = knowsY;
            }
        }
        assertTrue(y >= 0, "some continuation tells the two histories apart");
        int next = drive(wholeModel(), 1, setup, PROMPT, 0, 2, new int[] {y}).get(1).tokenId();
        assertEquals(right, next, "the penalty applies to y, which the coordinator sent, not to t0");
        SampledResult recomputed = drive(wholeModel(), 1, setup, concat(PROMPT, new int[] {y}), 1, 1, null).getFirst();
        assertEquals(recomputed.tokenId(), next, "as for a sequence recomputed from prompt + y");
    }

    @Test
    void seededSamplingContinuesAcrossARecomputedPrefillOnThisStageOrAnother() {
        SamplingParams p = SamplingParams.qwqRecommended().withMinP(0.01).withPenalties(0.5, 0.3, 1.2).withSeed(77L)
                .withTopLogprobs(2);
        SamplingSetup setup = new SamplingSetup(p, PROMPT.length, new int[0]);
        int n = 12;
        int[] whole = ids(drive(wholeModel(), 1, setup, PROMPT, 0, n, null));
        assertTrue(Arrays.stream(whole).distinct().count() > 3, "sampled, not stuck: " + Arrays.toString(whole));
        for (int cut : new int[] {1, 4, 9}) {
            int[] prefix = concat(PROMPT, Arrays.copyOf(whole, cut));
            int[] tail = Arrays.copyOfRange(whole, cut, n);
            // migration: another stage, a fresh sampler from the setup, prefix re-prefilled
            assertEquals(Arrays.toString(tail), Arrays.toString(ids(drive(wholeModel(), 1, setup, prefix, cut, n - cut, null))),
                    "moved after " + cut);
            // preemption: the same stage forgets the sequence and gets it again
            StageExecutor s = wholeModel();
            drive(s, 1, setup, PROMPT, 0, cut, null);
            s.forget(List.of(1L));
            assertEquals(0, s.trackedSequences());
            assertEquals(Arrays.toString(tail), Arrays.toString(ids(drive(s, 1, setup, prefix, cut, n - cut, null))),
                    "recomputed after " + cut);
        }
    }

    @Test
    void logitBiasSteersTheChoiceButNotTheReportedLogprobs() {
        float[] logits = rawLogits(PROMPT);
        int unlikely = topIds(logits, VOCAB_LIMIT).getLast();
        SamplingParams p = SamplingParams.greedy().withTopLogprobs(4).withLogitBias(Map.of(unlikely, 100f));
        SampledResult r = drive(wholeModel(), 1, SamplingSetup.of(p), PROMPT, 0, 1, null).getFirst();
        assertEquals(unlikely, r.tokenId(), "+100 on the least likely token");
        assertEquals(logprob(logits, unlikely), r.logprob(), 1e-4, "its raw log-prob, not the biased one");
        assertEquals(topIds(logits, 4), r.topLogprobs().stream().map(TokenLogprob::id).toList());
    }

    @Test
    void entriesMustContinueTheSequence() {
        StageExecutor s = wholeModel();
        step(s, new StageEntry(1, new int[] {1, 2, 3}, 0, TABLE, true, SamplingSetup.of(SamplingParams.greedy()), 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> step(s, new StageEntry(1, new int[] {4}, 5, TABLE, true, null, 1)));
        assertTrue(e.getMessage().contains("sequence 1: entry starts at position 5 but the last stage holds 3"),
                e.getMessage());
        // a step that fails changes no sequence: sequence 2 fits, sequence 1 does not
        int[] table2 = {8, 9};
        StageExecutor two = new StageExecutor(new Qwen2Forward(weights, new ReferenceKernels()),
                KvCache.onHeap(StageExecutorTest.CONFIG, LayerRange.whole(3), 10, 4), VOCAB_LIMIT);
        two.execute(List.of(new StageEntry(1, new int[] {1, 2, 3}, 0, TABLE, true, SamplingSetup.of(SamplingParams.greedy()), 0),
                new StageEntry(2, new int[] {4, 5}, 0, table2, true, SamplingSetup.of(SamplingParams.greedy()), 0)), null, List.of());
        assertThrows(IllegalArgumentException.class, () -> two.execute(List.of(
                new StageEntry(2, new int[] {6}, 2, table2, true, null, 1),
                new StageEntry(1, new int[] {7}, 9, TABLE, true, null, 1)), null, List.of()));
        assertEquals(2, two.execute(List.of(new StageEntry(2, new int[] {6}, 2, table2, true, null, 1),
                new StageEntry(1, new int[] {7}, 3, TABLE, true, null, 1)), null, List.of()).sampled().size(),
                "both sequences continue where they were");
    }
}
