package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A step padded for a graph bucket ({@link StepGraphs}): the layer ops see the bucket's rows, the attention batch
 * only the step's own, and the results (logits on the last stage, hidden states on the others) are bit for bit
 * those of the unpadded step, because every op but attention is row by row.
 */
class PaddedStepTest {
    static final ModelConfig CONFIG = SeededTinyModel.CONFIG;
    static ModelWeights whole;

    @BeforeAll
    static void weights() {
        whole = SeededTinyModel.whole();
    }

    /** Pads decode-only steps to the next power of two; records (padded rows, the batch's rows) of each call. */
    static final class Padding implements StepGraphs {
        final List<int[]> calls = new ArrayList<>();

        @Override
        public int paddedRows(int sequences, int rows) {
            return sequences == rows ? Integer.highestOneBit(rows * 2 - 1) : 0;
        }

        @Override
        public void runLayers(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers) {
            calls.add(new int[] {paddedRows, batch.totalRows()});
            layers.run();
        }
    }

    private static List<SequenceStep> prefill() {
        return List.of(SequenceStep.ofTokens(new int[] {1, 2, 3}, 0, new int[] {0}, true),
                SequenceStep.ofTokens(new int[] {4, 5}, 0, new int[] {1}, true),
                SequenceStep.ofTokens(new int[] {6, 7, 8, 9}, 0, new int[] {2}, true));
    }

    private static List<SequenceStep> decode(int step) {
        return List.of(SequenceStep.ofTokens(new int[] {10 + step}, 3 + step, new int[] {0, 3}, true),
                SequenceStep.ofTokens(new int[] {20 + step}, 2 + step, new int[] {1, 4}, false),
                SequenceStep.ofTokens(new int[] {30 + step}, 4 + step, new int[] {2, 5}, true));
    }

    @Test
    void paddedDecodeStepsGiveTheUnpaddedLogitsBitForBit() {
        Padding padding = new Padding();
        Qwen2Forward plain = new Qwen2Forward(whole, new ReferenceKernels());
        Qwen2Forward padded = new Qwen2Forward(whole, new ReferenceKernels(), padding);
        KvCache a = KvCache.onHeap(CONFIG, whole.range(), 8, 4);
        KvCache b = KvCache.onHeap(CONFIG, whole.range(), 8, 4);
        assertArrayEquals(plain.forward(prefill(), null, a).logits(), padded.forward(prefill(), null, b).logits());
        assertEquals(0, padding.calls.size(), "a prefill step is not padded");
        for (int step = 0; step < 3; step++) {
            ForwardResult want = plain.forward(decode(step), null, a);
            ForwardResult got = padded.forward(decode(step), null, b);
            assertArrayEquals(want.logitSequences(), got.logitSequences());
            assertArrayEquals(want.logits(), got.logits(), "decode step " + step);
        }
        assertEquals(3, padding.calls.size());
        for (int[] c : padding.calls) assertArrayEquals(new int[] {4, 3}, c, "3 rows padded to 4");
    }

    @Test
    void aMiddleStageReturnsOnlyTheStepsOwnHiddenRows() {
        LayerRange first = new LayerRange(0, 1, true, false);
        LayerRange second = new LayerRange(1, CONFIG.numHiddenLayers(), false, true);
        ModelWeights w1 = InMemoryWeights.create(CONFIG, first, 42);
        ModelWeights w2 = InMemoryWeights.create(CONFIG, second, 42);
        try {
            Qwen2Forward plain1 = new Qwen2Forward(w1, new ReferenceKernels());
            Qwen2Forward padded1 = new Qwen2Forward(w1, new ReferenceKernels(), new Padding());
            Qwen2Forward plain2 = new Qwen2Forward(w2, new ReferenceKernels());
            Qwen2Forward padded2 = new Qwen2Forward(w2, new ReferenceKernels(), new Padding());
            KvCache a1 = KvCache.onHeap(CONFIG, first, 8, 4), b1 = KvCache.onHeap(CONFIG, first, 8, 4);
            KvCache a2 = KvCache.onHeap(CONFIG, second, 8, 4), b2 = KvCache.onHeap(CONFIG, second, 8, 4);
            plain2.forward(prefill(), plain1.forward(prefill(), null, a1).hidden(), a2);
            padded2.forward(prefill(), padded1.forward(prefill(), null, b1).hidden(), b2);
            float[] want = plain1.forward(decode(0), null, a1).hidden();
            float[] got = padded1.forward(decode(0), null, b1).hidden();
            assertEquals(3 * CONFIG.hiddenSize(), got.length);
            assertArrayEquals(want, got);
            assertArrayEquals(plain2.forward(decode(0), want, a2).logits(),
                    padded2.forward(decode(0), got, b2).logits());
        } finally {
            w1.close();
            w2.close();
        }
    }

    @Test
    void aBucketSmallerThanTheStepIsRefused() {
        StepGraphs shrinking = new StepGraphs() {
            @Override
            public int paddedRows(int sequences, int rows) {
                return rows - 1;
            }

            @Override
            public void runLayers(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers) {
                layers.run();
            }
        };
        Qwen2Forward f = new Qwen2Forward(whole, new ReferenceKernels(), shrinking);
        assertThrows(IllegalStateException.class,
                () -> f.forward(decode(0), null, KvCache.onHeap(CONFIG, whole.range(), 8, 4)));
    }
}
