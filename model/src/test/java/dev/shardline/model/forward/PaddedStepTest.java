package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A step padded for a graph bucket ({@link StepGraphs}): the layer ops see the bucket's rows, the attention batch
 * only the step's own, and the results (logits on the last stage, hidden states on the others) are bit for bit
 * those of the unpadded step, because every op but attention is row by row. On the last stage a padded step whose
 * every token the device chooses hands its head along ({@link GraphHead}): final norm, lm_head and the sampler over
 * the padded rows give each sequence the token and log-prob of the unpadded (gathered) head.
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

    /** As {@link Padding}, taking the head too: {@link StepGraphs#runStep}'s default, the padded head eagerly. */
    static final class PaddingWithHead implements StepGraphs {
        final Padding layers = new Padding();
        final List<int[]> heads = new ArrayList<>();

        @Override
        public int paddedRows(int sequences, int rows) {
            return layers.paddedRows(sequences, rows);
        }

        @Override
        public void runLayers(int paddedRows, AttentionBatch batch, KvCache cache, Runnable loop) {
            layers.runLayers(paddedRows, batch, cache, loop);
        }

        @Override
        public boolean graphsHead() {
            return true;
        }

        @Override
        public SampledToken[] runStep(int paddedRows, AttentionBatch batch, KvCache cache, Runnable loop,
                                      GraphHead head) {
            heads.add(new int[] {paddedRows, head.rows(), head.paddedRows()});
            return StepGraphs.super.runStep(paddedRows, batch, cache, loop, head);
        }
    }

    /**
     * A host stand-in for a device sampler, on the row's values only: the argmax (lowest id on ties) with its
     * log-softmax; a draw takes the largest value among the ids congruent to floor(3u) mod 3 and declines top-k 7.
     */
    static final class RowSampler implements DeviceSampler {
        final ReferenceKernels kernels;
        int greedyRows, drawnRows;

        RowSampler(ReferenceKernels kernels) {
            this.kernels = kernels;
        }

        private float[] row(Activations logits, int r, int stride) {
            float[] row = new float[stride];
            kernels.read(logits, (long) r * stride, row, 0, stride);
            return row;
        }

        private static float logSoftmax(float[] row, int n, int id) {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) max = Math.max(max, row[i]);
            double sum = 0;
            for (int i = 0; i < n; i++) sum += Math.exp(row[i] - max);
            return (float) (row[id] - max - Math.log(sum));
        }

        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            greedyRows += rows;
            for (int r = 0; r < rows; r++) {
                float[] row = row(logits, r, stride);
                int best = 0;
                for (int i = 1; i < n; i++) if (row[i] > row[best]) best = i;
                ids[r] = best;
                logprobs[r] = logSoftmax(row, n, best);
            }
        }

        @Override
        public boolean draws() {
            return true;
        }

        @Override
        public SampledToken[] draw(Activations logits, int firstRow, int rows, int stride, int n, DeviceDraw[] draws) {
            drawnRows += rows;
            SampledToken[] out = new SampledToken[rows];
            for (int r = 0; r < rows; r++) {
                if (draws[r].topK() == 7) continue;
                float[] row = row(logits, firstRow + r, stride);
                int lane = (int) (3 * draws[r].u());
                int best = lane;
                for (int i = lane; i < n; i += 3) if (row[i] > row[best]) best = i;
                out[r] = new SampledToken(best, logSoftmax(row, n, best));
            }
            return out;
        }
    }

    /** Three decode rows that all ask for logits. */
    private static List<SequenceStep> decodeAll(int step) {
        return List.of(SequenceStep.ofTokens(new int[] {10 + step}, 3 + step, new int[] {0, 3}, true),
                SequenceStep.ofTokens(new int[] {20 + step}, 2 + step, new int[] {1, 4}, true),
                SequenceStep.ofTokens(new int[] {30 + step}, 4 + step, new int[] {2, 5}, true));
    }

    @Test
    void aPaddedHeadGivesTheUnpaddedHeadsTokensAndDeclinedLogits() {
        ReferenceKernels plainKernels = new ReferenceKernels();
        ReferenceKernels paddedKernels = new ReferenceKernels();
        RowSampler plainSampler = new RowSampler(plainKernels);
        RowSampler paddedSampler = new RowSampler(paddedKernels);
        PaddingWithHead graphs = new PaddingWithHead();
        Qwen2Forward plain = new Qwen2Forward(whole, plainKernels);
        Qwen2Forward padded = new Qwen2Forward(whole, paddedKernels, graphs);
        KvCache a = KvCache.onHeap(CONFIG, whole.range(), 8, 4);
        KvCache b = KvCache.onHeap(CONFIG, whole.range(), 8, 4);
        plain.forward(prefill(), null, a);
        padded.forward(prefill(), null, b);
        boolean[] all = {true, true, true};
        DeviceDraw drawn = new DeviceDraw(1.5f, 40, 0.9, 0, 0.7);
        DeviceDraw declined = new DeviceDraw(1f, 7, 1, 0, 0.1);
        DeviceDraw[][] steps = {
                {null, null, null},                    // greedy only: argmaxLogprob
                {drawn, null, drawn},                  // mixed: both kernels over the padded rows
                {null, declined, drawn},               // the draw of sequence 1 declined: its logits come back
        };
        for (int step = 0; step < steps.length; step++) {
            ForwardResult want = plain.forward(decodeAll(step), null, a,
                    new GreedyOnDevice(plainSampler, all, 300, new int[0], steps[step]));
            ForwardResult got = padded.forward(decodeAll(step), null, b,
                    new GreedyOnDevice(paddedSampler, all, 300, new int[0], steps[step]));
            String at = "decode step " + step;
            assertEquals(bySequence(want.deviceTokens()), bySequence(got.deviceTokens()), at);
            assertArrayEquals(want.logitSequences(), got.logitSequences(), at);
            assertArrayEquals(want.logits(), got.logits(), at + ": declined rows' logits, bit for bit");
        }
        assertArrayEquals(new int[] {1}, padded.forward(decodeAll(3), null, b, new GreedyOnDevice(paddedSampler,
                all, 300, new int[0], steps[2])).logitSequences(), "sequence 1 declined");
        assertEquals(4, graphs.heads.size(), "every decode step's head went through runStep");
        for (int[] h : graphs.heads) assertArrayEquals(new int[] {4, 3, 4}, h, "3 rows padded to 4");
        assertEquals(4, graphs.layers.calls.size());
        assertEquals(4 * 4, paddedSampler.greedyRows, "argmaxLogprob over the 4 padded rows, every step");
        assertEquals(3 * 4, paddedSampler.drawnRows, "draw over the 4 padded rows, steps 1, 2, 3");
    }

    /** Each device token as "sequence: id logprob" in sequence order (the eager head lists greedy rows first). */
    private static java.util.SortedMap<Integer, String> bySequence(DeviceTokens t) {
        java.util.SortedMap<Integer, String> out = new java.util.TreeMap<>();
        for (int j = 0; j < t.size(); j++) {
            out.put(t.sequences()[j], t.ids()[j] + " " + Float.floatToRawIntBits(t.logprobs()[j]));
        }
        return out;
    }

    @Test
    void aStepWithAHostRowOrTopLogprobsKeepsTheEagerHead() {
        PaddingWithHead graphs = new PaddingWithHead();
        ReferenceKernels kernels = new ReferenceKernels();
        Qwen2Forward padded = new Qwen2Forward(whole, kernels, graphs);
        KvCache b = KvCache.onHeap(CONFIG, whole.range(), 8, 4);
        padded.forward(prefill(), null, b);
        RowSampler sampler = new RowSampler(kernels);
        ForwardResult r = padded.forward(decodeAll(0), null, b,
                new GreedyOnDevice(sampler, new boolean[] {true, false, true}, 300));
        assertArrayEquals(new int[] {1}, r.logitSequences(), "the host row");
        assertArrayEquals(new int[] {0, 2}, r.deviceTokens().sequences());
        assertEquals(0, graphs.heads.size(), "a host row: the head runs eagerly after the padded layers");
        assertEquals(1, graphs.layers.calls.size());
        assertEquals(2, sampler.greedyRows, "the gathered device rows only");
    }

    @Test
    void theRefusalNamesWhatKeepsAHeadEager() {
        RowSampler sampler = new RowSampler(new ReferenceKernels());
        boolean[] all = {true, true, true};
        assertNull(GraphHead.refusal(decodeAll(0), new GreedyOnDevice(sampler, all, 300)));
        assertEquals("no device sampler", GraphHead.refusal(decodeAll(0), GreedyOnDevice.NONE));
        assertEquals("sequence 1 is sampled on the host", GraphHead.refusal(decodeAll(0),
                new GreedyOnDevice(sampler, new boolean[] {true, false, true}, 300)));
        assertEquals("sequence 2 is sampled on the host", GraphHead.refusal(decodeAll(0),
                new GreedyOnDevice(sampler, new boolean[] {true, true}, 300)));
        assertEquals("sequence 1 asks for no logits", GraphHead.refusal(decode(0), new GreedyOnDevice(sampler, all,
                300)));
        assertEquals("sequence 0 has 3 rows", GraphHead.refusal(prefill(), new GreedyOnDevice(sampler, all, 300)));
        assertEquals("sequence 2 asks for top log-probs", GraphHead.refusal(decodeAll(0),
                new GreedyOnDevice(sampler, all, 300, new int[] {0, 0, 1})));
        DeviceSampler greedyOnly = (logits, rows, stride, n, ids, logprobs) -> { };
        DeviceDraw[] oneDraw = {null, new DeviceDraw(1f, 5, 1, 0, 0.5), null};
        assertEquals("the device sampler draws no tokens", GraphHead.refusal(decodeAll(0),
                new GreedyOnDevice(greedyOnly, all, 300, new int[0], oneDraw)));
        assertNotNull(GraphHead.refusal(List.of(), new GreedyOnDevice(sampler, all, 300)));
    }

    @Test
    void paddedDrawsFillGreedyAndPaddingRowsWithThePlaceholder() {
        DeviceDraw d = new DeviceDraw(2f, 5, 1, 0, 0.25);
        GraphHead head = new GraphHead(() -> { }, null, 2, 4, 512, 300, new DeviceDraw[] {null, d}, null);
        assertArrayEquals(new DeviceDraw[] {GraphHead.PLACEHOLDER, d, GraphHead.PLACEHOLDER, GraphHead.PLACEHOLDER},
                head.paddedDraws());
        SampledToken[] t = head.pick(new int[] {7, 8, 9, 9}, new float[] {-1f, -2f, -3f, -3f},
                new SampledToken[] {new SampledToken(1, -9f), null, new SampledToken(3, 0f), null});
        assertEquals(new SampledToken(7, -1f), t[0], "greedy row: argmaxLogprob's");
        assertNull(t[1], "drawn row declined");
        assertEquals(2, t.length, "padding rows dropped");
        assertThrows(IllegalArgumentException.class,
                () -> new GraphHead(() -> { }, null, 3, 2, 512, 300, new DeviceDraw[3], null));
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
