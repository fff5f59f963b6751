package dev.shardline.model.forward;

import dev.shardline.model.gguf.GgufModel;
import dev.shardline.model.host.NativeQuantKernels;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.oracle.OracleData;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static dev.shardline.model.forward.ForwardInvariantsTest.assertClose;
import static dev.shardline.model.forward.ForwardInvariantsTest.blocks;
import static dev.shardline.model.forward.ForwardInvariantsTest.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The golden invariants on a quantized model (llama.cpp's Q4_K_M file: Q4_K and Q6_K weights, F32 norms and biases),
 * memory-mapped from GGUF, on every backend: batched == alone (decode rows, few-token rows and prefill tiles mixed
 * in one batch) and two stages (each mapping only its layer range) == one process.
 */
class QuantizedInvariantsTest {
    static GgufModel model;
    static ModelWeights whole;

    @BeforeAll
    static void open() {
        model = GgufModel.open(OracleData.file("qwen2-q-q4_k_m.gguf"));
        whole = model.load(LayerRange.whole(2), null);
        assertEquals(DType.Q4_K, whole.layer(0).qWeight().dtype());
        assertEquals(DType.Q6_K, whole.lmHead().dtype());
    }

    @AfterAll
    static void close() {
        whole.close();
    }

    /**
     * The warm-up runs the quantized products on the model's own first rows, in place: the weights' bytes stay as
     * they were, and a step after it gives the same logits as one before it.
     */
    @Test
    void quantizedWarmUpReadsTheWeightsInPlaceAndChangesNothing() {
        long before = checksum(whole);
        try (VectorKernels cpu = new VectorKernels(2)) {
            int[] prompt = {5, 9, 2};
            float[] cold = step(cpu, prompt);
            cpu.warmUp(whole);
            assertEquals(before, checksum(whole), "weight bytes after the warm-up");
            // compiled and interpreted vector code may sum lanes in another order: equal within the invariants' bound
            assertClose(cold, step(cpu, prompt), "logits after the warm-up");
        }
    }

    private static float[] step(Kernels k, int[] prompt) {
        Qwen2Forward f = new Qwen2Forward(whole, k);
        KvCache cache = KvCache.allocate(k, whole.config(), whole.range(), 8, 4);
        return f.forward(List.of(SequenceStep.ofTokens(prompt, 0, blocks(0, 8), true)), null, cache).logitsRow(0);
    }

    private static long checksum(ModelWeights w) {
        long h = 0;
        for (var t : List.of(w.layer(0).qWeight(), w.layer(0).downWeight(), w.lmHead())) {
            var seg = t.data();
            for (long i = 0; i + 8 <= seg.byteSize(); i += 8) {
                h = h * 31 + seg.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i);
            }
        }
        return h;
    }

    static Stream<Supplier<Kernels>> backends() {
        return KernelBackends.all();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void batchedEqualsAlone(Supplier<Kernels> backend) {
        SplittableRandom r = new SplittableRandom(5);
        int[][] prompts = {tokens(r, 9), tokens(r, 3), tokens(r, 17), tokens(r, 2)};
        try (Kernels k = backend.get()) {
            float[][] prefill = new float[4][];
            float[][] decode = new float[4][];
            for (int s = 0; s < 4; s++) {
                Qwen2Forward f = new Qwen2Forward(whole, k);
                KvCache cache = KvCache.allocate(k, whole.config(), whole.range(), 8, 4);
                int[] table = blocks(0, 8);
                prefill[s] = f.forward(List.of(SequenceStep.ofTokens(prompts[s], 0, table, true)), null, cache).logitsRow(0);
                decode[s] = f.forward(List.of(SequenceStep.ofTokens(new int[]{7 + s}, prompts[s].length, table, true)),
                        null, cache).logitsRow(0);
            }
            Qwen2Forward f = new Qwen2Forward(whole, k);
            KvCache cache = KvCache.allocate(k, whole.config(), whole.range(), 32, 4);
            int[][] tables = {blocks(0, 8), blocks(8, 8), blocks(16, 8), blocks(24, 8)};
            ForwardResult first = f.forward(List.of(SequenceStep.ofTokens(prompts[0], 0, tables[0], true),
                    SequenceStep.ofTokens(prompts[1], 0, tables[1], true)), null, cache);
            // three rows: the few-token path; then twenty rows: the prefill tiles
            ForwardResult small = f.forward(List.of(SequenceStep.ofTokens(new int[]{7}, prompts[0].length, tables[0], true),
                    SequenceStep.ofTokens(prompts[3], 0, tables[3], true)), null, cache);
            ForwardResult mixed = f.forward(List.of(SequenceStep.ofTokens(prompts[2], 0, tables[2], true),
                    SequenceStep.ofTokens(new int[]{8}, prompts[1].length, tables[1], true)), null, cache);
            assertClose(prefill[0], first.logitsRow(0), "seq 0 prefill");
            assertClose(prefill[1], first.logitsRow(1), "seq 1 prefill");
            assertClose(decode[0], small.logitsRow(0), "seq 0 decode beside a 2-token prefill");
            assertClose(prefill[3], small.logitsRow(1), "seq 3 prefill beside a decode");
            assertClose(prefill[2], mixed.logitsRow(0), "seq 2 prefill in a mixed batch");
            assertClose(decode[1], mixed.logitsRow(1), "seq 1 decode in a mixed batch");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void twoStagesEqualOneProcess(Supplier<Kernels> backend) {
        int[] prompt = tokens(new SplittableRandom(11), 12);
        int[] table = blocks(0, 4);
        try (Kernels k = backend.get()) {
            float[] single = new Qwen2Forward(whole, k).forward(List.of(SequenceStep.ofTokens(prompt, 0, table, true)),
                    null, KvCache.allocate(k, whole.config(), whole.range(), 4, 4)).logitsRow(0);
            float[] hidden = null;
            ForwardResult out = null;
            for (LayerRange range : new LayerRange[]{new LayerRange(0, 1, true, false), new LayerRange(1, 2, false, true)}) {
                try (ModelWeights w = model.load(range, null)) {
                    out = new Qwen2Forward(w, k).forward(List.of(new SequenceStep(range.embedding() ? prompt : null,
                            prompt.length, 0, table, true)), hidden, KvCache.allocate(k, w.config(), range, 4, 4));
                    hidden = out.hidden();
                }
            }
            if (k instanceof ReferenceKernels) {
                assertArrayEquals(single, out.logitsRow(0), "2 stages must give bit-identical logits");
            } else {
                assertClose(single, out.logitsRow(0), "2 stages vs one process");
            }
        }
    }
    /**
     * Backend cpu-int8 (int8 activations in one-token products): a decode step split over two stages gives the one
     * process's logits bit for bit (each stage runs the same products on the same rows), and a decode beside
     * another equals it alone to the int8 rounding (two rows run the f32 few-token kernels; docs/adr/0016).
     */
    @Test
    void int8TwoStagesEqualOneProcessAndBatchedDecodesStayWithinTheRounding() {
        assumeTrue(NativeQuantKernels.available(), () -> "backend cpu-int8 cannot run here: "
                + NativeQuantKernels.unavailableReason().orElse(""));
        int[] prompt = tokens(new SplittableRandom(13), 12);
        int[] table = blocks(0, 8);
        try (Kernels k = new VectorKernels(2, VectorKernels.Variant.INT8_PRODUCTS)) {
            Qwen2Forward one = new Qwen2Forward(whole, k);
            KvCache cache = KvCache.allocate(k, whole.config(), whole.range(), 8, 4);
            one.forward(List.of(SequenceStep.ofTokens(prompt, 0, table, true)), null, cache);
            float[] single = one.forward(List.of(SequenceStep.ofTokens(new int[]{7}, prompt.length, table, true)),
                    null, cache).logitsRow(0);
            ModelWeights[] stages = {model.load(new LayerRange(0, 1, true, false), null),
                    model.load(new LayerRange(1, 2, false, true), null)};
            try {
                KvCache[] caches = new KvCache[2];
                for (int i = 0; i < 2; i++) caches[i] = KvCache.allocate(k, stages[i].config(), stages[i].range(), 8, 4);
                float[] split = null;
                for (int[] step : new int[][]{prompt, {7}}) {
                    int position = step.length == 1 ? prompt.length : 0;
                    float[] hidden = null;
                    for (int i = 0; i < 2; i++) {
                        ForwardResult out = new Qwen2Forward(stages[i], k).forward(List.of(new SequenceStep(
                                i == 0 ? step : null, step.length, position, table, true)), hidden, caches[i]);
                        hidden = out.hidden();
                        if (i == 1) split = out.logitsRow(0);
                    }
                }
                assertArrayEquals(single, split, "cpu-int8: 2 stages must give the one process's decode logits bit for bit");
            } finally {
                for (ModelWeights w : stages) w.close();
            }
            // the same decode beside another sequence's decode (two rows: f32 few-token products)
            int[] other = tokens(new SplittableRandom(17), 5);
            KvCache both = KvCache.allocate(k, whole.config(), whole.range(), 16, 4);
            Qwen2Forward f = new Qwen2Forward(whole, k);
            f.forward(List.of(SequenceStep.ofTokens(prompt, 0, blocks(0, 8), true),
                    SequenceStep.ofTokens(other, 0, blocks(8, 8), true)), null, both);
            ForwardResult pair = f.forward(List.of(SequenceStep.ofTokens(new int[]{7}, prompt.length, blocks(0, 8), true),
                    SequenceStep.ofTokens(new int[]{9}, other.length, blocks(8, 8), true)), null, both);
            float max = 0;
            float err = 0;
            float wrong = 0;   // the broken variant: the other sequence's row
            for (int i = 0; i < single.length; i++) {
                max = Math.max(max, Math.abs(single[i]));
                err = Math.max(err, Math.abs(single[i] - pair.logitsRow(0)[i]));
                wrong = Math.max(wrong, Math.abs(single[i] - pair.logitsRow(1)[i]));
            }
            assertTrue(err > 0 && err <= 0.05f * max, "cpu-int8 decode alone vs beside another: max abs error " + err
                    + " vs max |logit| " + max + " (expected the int8 rounding: above 0, within 5%; 2.2% measured)");
            assertTrue(wrong > 0.2f * max, "another sequence's logits must fail that bound by far: " + wrong);
        }
    }
}
