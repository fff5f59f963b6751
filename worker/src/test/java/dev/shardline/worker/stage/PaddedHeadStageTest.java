package dev.shardline.worker.stage;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.forward.DeviceSampler;
import dev.shardline.model.forward.GraphHead;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.StepGraphs;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SampledToken;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A last stage whose step graphs take the head ({@link StepGraphs#graphsHead}), as backend cuda's decode graphs do,
 * here on the CPU (the padded head run eagerly, {@link GraphHead#runEagerly}, with the draw kernel simulated): when
 * every sequence's token is chosen on the device, each decode step's head runs over the bucket's rows (padding
 * included) in batch order, and the stage's tokens and log-probs are the host-sampled stage's; a step with a host
 * sequence keeps the gathered head.
 */
class PaddedHeadStageTest {

    /** Greedy, QwQ's settings, min-p, a draw with penalties and a bias, greedy with a penalty: all on the device. */
    static final SamplingSetup[] SETUPS = {
            new SamplingSetup(SamplingParams.greedy(), DeviceSamplingStageTest.PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.qwqRecommended().withTemperature(1.5).withSeed(3L),
                    DeviceSamplingStageTest.PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(1.2).withMinP(0.02).withSeed(4L),
                    DeviceSamplingStageTest.PROMPT.length, new int[0]),
            new SamplingSetup(SamplingParams.defaults().withTemperature(0.9).withPenalties(0.3, 0.2, 1.3)
                    .withLogitBias(Map.of(17, 2f, 40, -1f)).withSeed(6L), DeviceSamplingStageTest.PROMPT.length,
                    new int[0]),
            new SamplingSetup(SamplingParams.greedy().withPenalties(0, 0, 1.3).withLogitBias(Map.of(3, 1.5f))
                    .withSeed(8L), DeviceSamplingStageTest.PROMPT.length, new int[0])};

    /** Pads decode-only steps to the next power of two and takes the head; records (bucket, rows) per head. */
    static final class PaddingWithHead implements StepGraphs {
        final List<int[]> heads = new ArrayList<>();
        int layersOnly;

        @Override
        public int paddedRows(int sequences, int rows) {
            return sequences == rows ? Integer.highestOneBit(rows * 2 - 1) : 0;
        }

        @Override
        public void runLayers(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers) {
            layersOnly++;
            layers.run();
        }

        @Override
        public boolean graphsHead() {
            return true;
        }

        @Override
        public SampledToken[] runStep(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers,
                                      GraphHead head) {
            heads.add(new int[] {paddedRows, head.rows()});
            layers.run();
            return head.runEagerly();
        }
    }

    private static StageExecutor stage(ModelWeights w, DeviceSampler device, ReferenceKernels kernels,
                                       StepGraphs graphs) {
        return new StageExecutor(new Qwen2Forward(w, kernels, graphs),
                KvCache.onHeap(StageExecutorTest.CONFIG, LayerRange.whole(3), 24, 4),
                DeviceSamplingStageTest.VOCAB_LIMIT, device);
    }

    @Test
    void everyTokenOnTheDeviceRunsThePaddedHeadWithTheHostSamplersTokens(@TempDir Path dir) {
        DemoCheckpointWriter.writeWeights(StageExecutorTest.CONFIG, dir, 2, 5, null);
        try (ModelWeights w = CheckpointLoader.load(dir, StageExecutorTest.CONFIG, LayerRange.whole(3), null)) {
            List<List<SampledResult>> host = DeviceSamplingStageTest.run(
                    stage(w, null, new ReferenceKernels(), StepGraphs.NONE), new ArrayList<>(), SETUPS);
            ReferenceKernels kernels = new ReferenceKernels();
            DeviceSamplingStageTest.DrawStandIn device = new DeviceSamplingStageTest.DrawStandIn(kernels, false);
            PaddingWithHead graphs = new PaddingWithHead();
            List<List<SampledResult>> padded = DeviceSamplingStageTest.run(stage(w, device, kernels, graphs), host,
                    SETUPS);

            assertEquals(4, graphs.heads.size(), "every decode step's head is padded: " + graphs.heads.size());
            for (int[] h : graphs.heads) assertArrayEquals(new int[] {8, 5}, h, "5 sequences in bucket 8");
            assertEquals(0, graphs.layersOnly);
            assertEquals(1 + 4 * 8, device.greedyRows, "prefill: 1 gathered greedy row; decode: the 8 bucket rows");
            assertEquals(4 + 4 * 8, device.drawnRows, "prefill: 4 gathered drawn rows (one greedy with edits); decode: the 8 bucket rows");
            for (int step = 0; step < host.size(); step++) {
                for (int q = 0; q < SETUPS.length; q++) {
                    SampledResult h = host.get(step).get(q);
                    SampledResult p = padded.get(step).get(q);
                    String what = "step " + step + ", sequence " + q;
                    assertEquals(h.sequenceId(), p.sequenceId(), what);
                    assertEquals(h.tokenId(), p.tokenId(), what);
                    assertEquals(h.logprob(), p.logprob(), 1e-5, what);
                }
            }
        }
    }
}
