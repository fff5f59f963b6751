package dev.shardline.worker.server;

import dev.shardline.model.gguf.GgufModel;
import dev.shardline.model.checkpoint.ModelFingerprint;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.host.NativeQuantKernels;
import dev.shardline.model.kernels.Backends;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.LoadProgress;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.SampledToken;
import dev.shardline.proto.stage.v1.StageGrpc;
import dev.shardline.proto.stage.v1.StepResult;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.stage.SampledResult;
import dev.shardline.worker.stage.StageExecutor;
import dev.shardline.worker.stage.StageOutput;
import io.grpc.ManagedChannel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two real workers on a CPU backend serve a quantized model straight from a GGUF file (llama.cpp's Q4_K_M oracle:
 * Q4_K and Q6_K weights), each mapping only its layer; the pipeline generates the tokens of the whole model in one
 * process (the same tokens, their log-probs within 1e-4), and Assign reports the range's real (quantized) weight bytes.
 */
class WorkerGgufPipelineTest {
    static final List<int[]> PROMPTS = GreedyWorkload.prompts(3, 5, 9, 13);

    static Path gguf() {
        try {
            return Path.of(WorkerGgufPipelineTest.class.getResource("/oracle/qwen2-q-q4_k_m.gguf").toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("the oracle GGUF is a test resource of the model module", e);
        }
    }

    /** On {@code cpu} (f32 activations) and on {@code cpu-int8} (int8 activations in one-token products, ADR 0016). */
    @ParameterizedTest(name = "backend {0}")
    @ValueSource(strings = {"cpu", "cpu-int8"})
    void twoStagesOnAQuantizedGgufGenerateWhatOneProcessGenerates(String backend) throws Exception {
        if (backend.equals("cpu-int8")) {
            assumeTrue(NativeQuantKernels.available(), () -> "backend cpu-int8 cannot run here: "
                    + NativeQuantKernels.unavailableReason().orElse(""));
        }
        Path model = gguf();
        GgufModel source = GgufModel.open(model);
        int blocks = GreedyWorkload.kvBlocks(PROMPTS.size());
        List<AutoCloseable> opened = new ArrayList<>();
        List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        try (TestControlPlane cp = TestControlPlane.start(0)) {
            ModelWeights w = source.load(LayerRange.whole(2), null);
            opened.add(w);
            VectorKernels kernels = (VectorKernels) Backends.create(backend, 1);
            opened.add(kernels);
            StageExecutor whole = new StageExecutor(new Qwen2Forward(w, kernels),
                    KvCache.onHeap(w.config(), w.range(), blocks, GreedyWorkload.BLOCK_SIZE), 512);
            GreedyWorkload workload = new GreedyWorkload(0, 1, PROMPTS, 6, 6);
            // the log-probs too: greedy tokens alone would not tell f32 from int8 activations here
            Map<Long, List<Float>> expectedLogprobs = new HashMap<>();
            Map<Long, List<Float>> gotLogprobs = new HashMap<>();
            Map<Long, List<Integer>> expected = workload.run(round -> {
                Map<Long, Integer> out = new HashMap<>();
                for (MicroBatchHeader h : round) {
                    StageOutput o = whole.execute(ProtoMapping.entries(h, 512, blocks, GreedyWorkload.BLOCK_SIZE), null,
                            h.getFinishedSequenceIdsList());
                    for (SampledResult r : o.sampled()) {
                        out.put(r.sequenceId(), r.tokenId());
                        expectedLogprobs.computeIfAbsent(r.sequenceId(), id -> new ArrayList<>()).add(r.logprob());
                    }
                }
                return out;
            });
            List<WorkerProcess> workers = new ArrayList<>();
            List<ManagedChannel> channels = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    WorkerProcess wp = WorkerProcess.start(new WorkerConfig("g" + i, cp.address(), "127.0.0.1", 0, model,
                            backend, 1, 1L << 30, "mmap", WorkerConfig.DEFAULT_DRAIN_TIMEOUT_MS), log::add);
                    workers.add(wp);
                    channels.add(Channels.open(wp.address()));
                    assertEquals(ModelFingerprint.of(model), wp.modelFingerprint());
                }
                for (int i = 1; i >= 0; i--) {
                    LayerAssignment a = LayerAssignment.newBuilder().setPipelineId(0).setPlanEpoch(1).setStageIndex(i)
                            .setStageCount(2).setLayerStart(i).setLayerEnd(i + 1).setHasEmbedding(i == 0).setHasHead(i == 1)
                            .setModelDir(model.toString()).setModelFingerprint(workers.get(i).modelFingerprint())
                            .setKvBlocks(blocks).setBlockSize(GreedyWorkload.BLOCK_SIZE)
                            .setActivationDtype(ACTIVATION_DTYPE_F32)
                            .setNextStageAddress(i == 1 ? "coordinator" : workers.get(1).address())
                            .setCoordinatorAddress(cp.address()).setSampleVocabLimit(512).build();
                    List<LoadProgress> events = new ArrayList<>();
                    Iterator<LoadProgress> it = StageGrpc.newBlockingStub(channels.get(i)).assign(a);
                    it.forEachRemaining(events::add);
                    assertTrue(events.getLast().hasReady(), "ready");
                    var sizes = source.weightSizes();
                    long expectedBytes = sizes.layers(i, i + 1) + (i == 0 ? sizes.embedding() : sizes.finalNorm() + sizes.lmHead());
                    assertEquals(expectedBytes, events.getLast().getReady().getWeightBytes(), "stage " + i + " weight bytes");
                }
                cp.results.clear();
                try (PipelineClient client = PipelineClient.open(channels.get(0))) {
                    // a fresh workload: the one above has generated all its tokens (reusing it compared a list with itself)
                    GreedyWorkload pipelined = new GreedyWorkload(0, 1, PROMPTS, 6, 6);
                    Map<Long, List<Integer>> got = pipelined.run(round -> {
                        for (MicroBatchHeader h : round) client.send(h);
                        Map<Long, Integer> sampled = new HashMap<>();
                        for (int i = 0; i < round.size(); i++) {
                            StepResult r = cp.nextResult();
                            assertEquals("", r.getError(), "step " + r.getStepId());
                            for (SampledToken t : r.getTokensList()) {
                                sampled.put(t.getSequenceId(), t.getTokenId());
                                gotLogprobs.computeIfAbsent(t.getSequenceId(), id -> new ArrayList<>()).add(t.getLogprob());
                            }
                        }
                        return sampled;
                    });
                    client.drainAcks();
                    assertEquals(expected, got, String.join("\n", log));
                    assertEquals(expectedLogprobs.keySet(), gotLogprobs.keySet());
                    for (Long id : expectedLogprobs.keySet()) {
                        List<Float> e = expectedLogprobs.get(id);
                        List<Float> g = gotLogprobs.get(id);
                        assertEquals(e.size(), g.size(), "sequence " + id);
                        for (int t = 0; t < e.size(); t++) {
                            // a JIT may sum vector lanes in another order (1e-6 here); int8 against f32 activations
                            // moves them by 1e-3 to 1e-2
                            assertEquals(e.get(t), g.get(t), 1e-4f, "backend " + backend + ": log-prob of sequence "
                                    + id + "'s token " + t);
                        }
                    }
                }
            } finally {
                channels.forEach(Channels::close);
                workers.forEach(WorkerProcess::close);
            }
        } finally {
            for (AutoCloseable c : opened) c.close();
        }
    }
}
