package dev.shardline.model.forward;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The last stage with some sequences sampled on the device: their rows go to the device sampler (and only theirs),
 * the other rows' logits come back bit for bit as without one, and the sequence ids follow.
 */
class GreedyOnDeviceTest {
    static final ModelConfig CONFIG = SeededTinyModel.CONFIG;
    static ModelWeights whole;

    @BeforeAll
    static void weights() {
        whole = SeededTinyModel.whole();
    }

    /** Records the rows it is given (read back from its logits) and answers id = row number, log-prob = -row. */
    static final class Recording implements DeviceSampler {
        final ReferenceKernels kernels;
        final List<float[]> rows = new ArrayList<>();

        Recording(ReferenceKernels kernels) {
            this.kernels = kernels;
        }

        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            assertEquals(CONFIG.vocabSize(), stride);
            assertEquals(300, n, "the sampled vocabulary");
            for (int r = 0; r < rows; r++) {
                float[] row = new float[stride];
                kernels.read(logits, (long) r * stride, row, 0, stride);
                this.rows.add(row);
                ids[r] = r;
                logprobs[r] = -r;
            }
        }
    }

    static List<SequenceStep> steps() {
        return List.of(
                SequenceStep.ofTokens(new int[] {1, 2, 3}, 0, new int[] {0}, true),
                SequenceStep.ofTokens(new int[] {4, 5}, 0, new int[] {1}, false),
                SequenceStep.ofTokens(new int[] {6, 7, 8, 9}, 0, new int[] {2}, true),
                SequenceStep.ofTokens(new int[] {10}, 0, new int[] {3}, true),
                SequenceStep.ofTokens(new int[] {11, 12}, 0, new int[] {4}, true));
    }

    @Test
    void deviceRowsGoToTheSamplerAndTheOthersComeBackUnchanged() {
        ReferenceKernels kernels = new ReferenceKernels();
        ForwardResult all = new Qwen2Forward(whole, kernels).forward(steps(), null,
                KvCache.onHeap(CONFIG, whole.range(), 8, 4));
        Recording device = new Recording(kernels);
        boolean[] which = {false, true, true, false, true};   // sequence 1 asks for no logits: never sampled
        ForwardResult split = new Qwen2Forward(whole, kernels).forward(steps(), null,
                KvCache.onHeap(CONFIG, whole.range(), 8, 4), new GreedyOnDevice(device, which, 300));

        assertArrayEquals(new int[] {0, 2, 3, 4}, all.logitSequences());
        assertArrayEquals(new int[] {0, 3}, split.logitSequences());
        assertArrayEquals(all.logitsRow(0), split.logitsRow(0), "bit for bit");
        assertArrayEquals(all.logitsRow(2), split.logitsRow(1), "bit for bit");
        assertEquals(2 * CONFIG.vocabSize(), split.logits().length, "only the host rows are read back");

        assertArrayEquals(new int[] {2, 4}, split.deviceTokens().sequences());
        assertArrayEquals(new int[] {0, 1}, split.deviceTokens().ids());
        assertArrayEquals(new float[] {0f, -1f}, split.deviceTokens().logprobs());
        assertEquals(2, device.rows.size());
        assertArrayEquals(all.logitsRow(1), device.rows.get(0), "sequence 2's row");
        assertArrayEquals(all.logitsRow(3), device.rows.get(1), "sequence 4's row");
        assertEquals(0, all.deviceTokens().size());
    }

    @Test
    void allRowsOnTheDeviceReadNoLogits() {
        ReferenceKernels kernels = new ReferenceKernels();
        boolean[] which = new boolean[5];
        Arrays.fill(which, true);
        ForwardResult r = new Qwen2Forward(whole, kernels).forward(steps(), null,
                KvCache.onHeap(CONFIG, whole.range(), 8, 4), new GreedyOnDevice(new Recording(kernels), which, 300));
        assertEquals(0, r.logits().length);
        assertArrayEquals(new int[] {0, 2, 3, 4}, r.deviceTokens().sequences());
    }

    /** Top log-probs through {@code argmaxTop}: the device declines the row of sequence 0 (it asked for 2). */
    static final class Declining implements DeviceSampler {
        final Recording inner;
        int[] tops;

        Declining(ReferenceKernels kernels) {
            inner = new Recording(kernels);
        }

        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            throw new AssertionError("with top log-probs asked, argmaxTop serves every device row");
        }

        @Override
        public int maxTopLogprobs() {
            return 20;
        }

        @Override
        public dev.shardline.model.sampling.SampledToken[] argmaxTop(Activations logits, int rows, int stride, int n,
                                                                     int[] top) {
            tops = top.clone();
            int[] ids = new int[rows];
            inner.argmaxLogprob(logits, rows, stride, n, ids, new float[rows]);
            var out = new dev.shardline.model.sampling.SampledToken[rows];
            for (int r = 0; r < rows; r++) {
                if (top[r] == 2) continue;                                  // declined
                var alts = new ArrayList<dev.shardline.model.sampling.TokenLogprob>();
                for (int j = 0; j < top[r]; j++) alts.add(new dev.shardline.model.sampling.TokenLogprob(j, -j));
                out[r] = new dev.shardline.model.sampling.SampledToken(10 + r, -r, alts);
            }
            return out;
        }
    }

    @Test
    void aDeclinedRowComesBackAsLogitsInBatchOrder() {
        ReferenceKernels kernels = new ReferenceKernels();
        ForwardResult all = new Qwen2Forward(whole, kernels).forward(steps(), null,
                KvCache.onHeap(CONFIG, whole.range(), 8, 4));
        Declining device = new Declining(kernels);
        boolean[] which = {true, true, true, false, true};
        int[] tops = {2, 0, 3, 0, 0};
        ForwardResult r = new Qwen2Forward(whole, kernels).forward(steps(), null,
                KvCache.onHeap(CONFIG, whole.range(), 8, 4), new GreedyOnDevice(device, which, 300, tops));
        assertArrayEquals(new int[] {2, 3, 0}, device.tops, "device rows: sequences 0, 2, 4 (1 wants no logits)");
        assertArrayEquals(new int[] {0, 3}, r.logitSequences(), "the declined sequence 0 with the host's 3");
        assertArrayEquals(all.logitsRow(0), r.logitsRow(0), "sequence 0's row, bit for bit");
        assertArrayEquals(all.logitsRow(2), r.logitsRow(1), "sequence 3's row, bit for bit");
        assertArrayEquals(new int[] {2, 4}, r.deviceTokens().sequences());
        assertArrayEquals(new int[] {11, 12}, r.deviceTokens().ids());
        assertEquals(3, r.deviceTokens().top().get(0).size());
        assertEquals(0, r.deviceTokens().top().get(1).size());
    }

    /** Greedy rows through argmaxLogprob, drawn rows through draw (after them); declines the draw with topK 7. */
    static final class Drawing implements DeviceSampler {
        final Recording greedy;
        final List<float[]> drawnRows = new ArrayList<>();
        final List<DeviceDraw> draws = new ArrayList<>();
        int firstRow = -1;

        Drawing(ReferenceKernels kernels) {
            greedy = new Recording(kernels);
        }

        @Override
        public void argmaxLogprob(Activations logits, int rows, int stride, int n, int[] ids, float[] logprobs) {
            greedy.argmaxLogprob(logits, rows, stride, n, ids, logprobs);
        }

        @Override
        public boolean draws() {
            return true;
        }

        @Override
        public dev.shardline.model.sampling.SampledToken[] draw(Activations logits, int firstRow, int rows,
                                                                int stride, int n, DeviceDraw[] draws) {
            this.firstRow = firstRow;
            var out = new dev.shardline.model.sampling.SampledToken[rows];
            for (int r = 0; r < rows; r++) {
                float[] row = new float[stride];
                greedy.kernels.read(logits, (long) (firstRow + r) * stride, row, 0, stride);
                drawnRows.add(row);
                this.draws.add(draws[r]);
                if (draws[r].topK() != 7) out[r] = new dev.shardline.model.sampling.SampledToken(100 + r, -0.5f);
            }
            return out;
        }
    }

    @Test
    void drawnRowsFollowTheGreedyOnesAndADeclinedDrawComesBackAsLogits() {
        ReferenceKernels kernels = new ReferenceKernels();
        ForwardResult all = new Qwen2Forward(whole, kernels).forward(steps(), null,
                KvCache.onHeap(CONFIG, whole.range(), 8, 4));
        Drawing device = new Drawing(kernels);
        boolean[] which = {true, true, true, true, true};
        DeviceDraw a = new DeviceDraw(2f, 40, 0.9, 0, 0.25);
        DeviceDraw declined = new DeviceDraw(1f, 7, 1, 0, 0.5);
        DeviceDraw[] draws = {a, null, null, declined, null};        // sequence 1 asks for no logits
        ForwardResult r = new Qwen2Forward(whole, kernels).forward(steps(), null,
                KvCache.onHeap(CONFIG, whole.range(), 8, 4), new GreedyOnDevice(device, which, 300, new int[0], draws));
        assertEquals(2, device.greedy.rows.size(), "greedy: sequences 2 and 4");
        assertArrayEquals(all.logitsRow(1), device.greedy.rows.get(0));
        assertArrayEquals(all.logitsRow(3), device.greedy.rows.get(1));
        assertEquals(2, device.firstRow, "the drawn rows follow the greedy ones");
        assertEquals(List.of(a, declined), device.draws);
        assertArrayEquals(all.logitsRow(0), device.drawnRows.get(0), "sequence 0's row");
        assertArrayEquals(all.logitsRow(2), device.drawnRows.get(1), "sequence 3's row");
        assertArrayEquals(new int[] {3}, r.logitSequences(), "the declined draw is read back");
        assertArrayEquals(all.logitsRow(2), r.logitsRow(0), "bit for bit");
        assertArrayEquals(new int[] {2, 4, 0}, r.deviceTokens().sequences());
        assertArrayEquals(new int[] {0, 1, 100}, r.deviceTokens().ids());
    }
}
