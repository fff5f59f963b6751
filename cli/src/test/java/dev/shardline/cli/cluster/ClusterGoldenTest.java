package dev.shardline.cli.cluster;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.NextToken;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.proto.v1.SamplingParams;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The golden invariant over real gRPC on loopback: greedy generation through 1, 2, 3 and 4 stages (the planner's
 * even and uneven splits) gives the token ids of the single-process engine, for one sequence and for 8 concurrent
 * sequences of different lengths. Activations travel as f32 so the comparison can be exact.
 */
class ClusterGoldenTest {
    static final int NEW_TOKENS = 8;

    static Stream<Arguments> cases() {
        return Stream.of(DemoPreset.TINY, DemoPreset.SMALL)
                .flatMap(p -> Stream.of(1, 2, 3, 4).map(stages -> Arguments.of(p, stages)));
    }

    static final NextToken GREEDY = logits -> {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    };

    static int[][] prompts(int vocab) {
        SplittableRandom r = new SplittableRandom(2024);
        int[][] p = new int[8][];
        for (int i = 0; i < p.length; i++) p[i] = r.ints(3 + 5 * i, 0, vocab).toArray();
        return p;
    }

    static List<List<Integer>> alone(Path dir, int[][] prompts) {
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        List<List<Integer>> out = new ArrayList<>();
        try (ModelWeights w = CheckpointLoader.load(dir, config, LayerRange.whole(config.numHiddenLayers()), null);
             VectorKernels k = new VectorKernels(1)) {
            for (int[] p : prompts) {
                Engine e = new Engine(new Qwen2Forward(w, k), new EngineOptions(64, 16, 512));
                out.add(Arrays.stream(e.generate(p, NEW_TOKENS, Set.of(), GREEDY, TokenListener.NONE).tokens()).boxed().toList());
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} over {1} stage(s)")
    @MethodSource("cases")
    void stagesGenerateWhatOneProcessGenerates(DemoPreset preset, int stages) throws Exception {
        Path dir = TestModels.get(preset);
        int[][] prompts = prompts(151643);
        List<List<Integer>> expected = alone(dir, prompts);
        SamplingParams greedy = SamplingParams.newBuilder().setTemperature(0).setMaxTokens(NEW_TOKENS).setIgnoreEos(true).build();
        Map<String, String> flags = Map.of("activation-dtype", "f32", "pipelines", "1", "max-kv-blocks", "128",
                "kv-reserve-tokens", "64");
        try (LocalCluster cluster = LocalCluster.start(dir, stages, 0, 1, 4L << 30, flags, false, line -> { });
             ClusterClient client = new ClusterClient(cluster.address())) {
            assertEquals(stages, cluster.cluster().status().pipelines().getFirst().stages().size());
            // one sequence alone
            assertEquals(expected.get(3), client.generate(ClusterClient.tokens(prompts[3], greedy), null).tokenIds());
            // eight at once: they share micro-batches (batched == alone)
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<List<Integer>>> futures = new ArrayList<>();
                for (int[] p : prompts) {
                    futures.add(pool.submit(() -> client.generate(ClusterClient.tokens(p, greedy), null).tokenIds()));
                }
                for (int i = 0; i < prompts.length; i++) {
                    assertEquals(expected.get(i), futures.get(i).get(), "sequence " + i + " of 8 concurrent");
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
