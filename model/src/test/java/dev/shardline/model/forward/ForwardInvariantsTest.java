package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Golden invariants of the batched forward pass on a seeded model, for every backend:
 * batched == alone, chunked prefill == one prefill, k stages == 1 stage.
 * Within one backend these hold to float rounding of a different summation order only; the bound is 1e-4
 * relative to the largest logit (logits are O(1) here, differences seen are O(1e-6)).
 */
class ForwardInvariantsTest {
    static final ModelConfig CONFIG = SeededTinyModel.CONFIG;
    static final int BLOCK = 4;
    static ModelWeights whole;

    @BeforeAll
    static void weights() {
        whole = SeededTinyModel.whole();
    }

    static Stream<Supplier<Kernels>> backends() {
        return KernelBackends.all();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void batchedEqualsAlone(Supplier<Kernels> backend) {
        SplittableRandom r = new SplittableRandom(7);
        int[][] prompts = {tokens(r, 9), tokens(r, 3), tokens(r, 17), tokens(r, 1)};
        try (Kernels k = backend.get()) {
            // alone: each sequence prefilled, then one decode token, on its own cache
            float[][] aloneDecode = new float[4][];
            float[][] alonePrefill = new float[4][];
            for (int s = 0; s < 4; s++) {
                Qwen2Forward f = new Qwen2Forward(whole, k);
                KvCache cache = KvCache.onHeap(CONFIG, whole.range(), 16, BLOCK);
                int[] table = blocks(0, 8);
                alonePrefill[s] = f.forward(List.of(SequenceStep.ofTokens(prompts[s], 0, table, true)), null, cache).logitsRow(0);
                aloneDecode[s] = f.forward(List.of(SequenceStep.ofTokens(new int[]{5 + s}, prompts[s].length, table, true)), null, cache).logitsRow(0);
            }
            // batched: sequences 0 and 1 are prefilled first; then one batch mixes their decode tokens with the
            // prefills of sequences 2 and 3, all on one shared cache with interleaved block tables.
            Qwen2Forward f = new Qwen2Forward(whole, k);
            KvCache cache = KvCache.onHeap(CONFIG, whole.range(), 64, BLOCK);
            int[][] tables = {blocks(0, 8), blocks(8, 8), blocks(16, 8), blocks(24, 8)};
            reverse(tables[1]);  // non-contiguous, descending block ids
            ForwardResult first = f.forward(List.of(
                    SequenceStep.ofTokens(prompts[0], 0, tables[0], true),
                    SequenceStep.ofTokens(prompts[1], 0, tables[1], true)), null, cache);
            ForwardResult mixed = f.forward(List.of(
                    SequenceStep.ofTokens(new int[]{5}, prompts[0].length, tables[0], true),
                    SequenceStep.ofTokens(prompts[2], 0, tables[2], true),
                    SequenceStep.ofTokens(new int[]{6}, prompts[1].length, tables[1], true),
                    SequenceStep.ofTokens(prompts[3], 0, tables[3], true)), null, cache);
            assertClose(alonePrefill[0], first.logitsRow(0), "seq 0 prefill");
            assertClose(alonePrefill[1], first.logitsRow(1), "seq 1 prefill");
            assertClose(aloneDecode[0], mixed.logitsRow(0), "seq 0 decode in a mixed batch");
            assertClose(alonePrefill[2], mixed.logitsRow(1), "seq 2 prefill in a mixed batch");
            assertClose(aloneDecode[1], mixed.logitsRow(2), "seq 1 decode in a mixed batch");
            assertClose(alonePrefill[3], mixed.logitsRow(3), "seq 3 prefill in a mixed batch");
            assertArrayEquals(new int[]{0, 1, 2, 3}, mixed.logitSequences());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void chunkedPrefillEqualsOnePrefill(Supplier<Kernels> backend) {
        int[] prompt = tokens(new SplittableRandom(3), 21);
        try (Kernels k = backend.get()) {
            Qwen2Forward f = new Qwen2Forward(whole, k);
            int[] table = blocks(0, 8);
            float[] once = f.forward(List.of(SequenceStep.ofTokens(prompt, 0, table, true)), null,
                    KvCache.onHeap(CONFIG, whole.range(), 8, BLOCK)).logitsRow(0);
            KvCache cache = KvCache.onHeap(CONFIG, whole.range(), 8, BLOCK);
            ForwardResult last = null;
            for (int start = 0; start < prompt.length; start += 5) {
                int[] chunk = java.util.Arrays.copyOfRange(prompt, start, Math.min(prompt.length, start + 5));
                last = f.forward(List.of(SequenceStep.ofTokens(chunk, start, table, start + 5 >= prompt.length)), null, cache);
            }
            assertClose(once, last.logitsRow(0), "chunks of 5 vs one prefill of 21");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void stagesEqualOneProcess(Supplier<Kernels> backend) {
        int[] prompt = tokens(new SplittableRandom(11), 12);
        int[] table = blocks(0, 4);
        try (Kernels k = backend.get()) {
            float[] single = new Qwen2Forward(whole, k).forward(List.of(SequenceStep.ofTokens(prompt, 0, table, true)),
                    null, KvCache.onHeap(CONFIG, whole.range(), 4, BLOCK)).logitsRow(0);
            LayerRange[] split = {new LayerRange(0, 1, true, false), new LayerRange(1, 3, false, false), new LayerRange(3, 4, false, true)};
            float[] hidden = null;
            ForwardResult out = null;
            List<ModelWeights> opened = new ArrayList<>();
            for (LayerRange range : split) {
                ModelWeights w = InMemoryWeights.create(CONFIG, range, 42);
                opened.add(w);
                int[] ids = range.embedding() ? prompt : null;
                out = new Qwen2Forward(w, k).forward(List.of(new SequenceStep(ids, prompt.length, 0, table, true)), hidden,
                        KvCache.onHeap(CONFIG, range, 4, BLOCK));
                hidden = out.hidden();
            }
            if (k instanceof ReferenceKernels) {
                assertArrayEquals(single, out.logitsRow(0), "3 stages must give bit-identical logits");
            } else {
                // the Vector API's lane reductions round differently before and after the JIT compiles a kernel,
                // so a fast backend is only reproducible to float rounding across a warm-up boundary
                assertClose(single, out.logitsRow(0), "3 stages vs one process");
            }
            opened.forEach(ModelWeights::close);
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length);
        float max = 0;
        float err = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        if (err > 1e-4f * max + 1e-7f) {
            throw new AssertionError(what + ": max abs error " + err + " vs max |logit| " + max);
        }
    }

    static int[] tokens(SplittableRandom r, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(CONFIG.vocabSize());
        return t;
    }

    static int[] blocks(int first, int n) {
        int[] b = new int[n];
        for (int i = 0; i < n; i++) b[i] = first + i;
        return b;
    }

    static void reverse(int[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
