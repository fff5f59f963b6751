package dev.shardline.cli.cluster;

import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.tokenizer.QwenTokenizerSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Seeded demo checkpoints with the real tokenizer, written once per test JVM into a temp directory. */
public final class TestModels {
    private static final Map<DemoPreset, Path> written = new HashMap<>();

    public static synchronized Path get(DemoPreset preset) {
        return written.computeIfAbsent(preset, p -> {
            try {
                Path dir = Files.createTempDirectory("shardline-" + p.cliName());
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));   // a small model is 1 GB
                QwenTokenizerSource tok = QwenTokenizerSource.defaults();
                DemoCheckpointWriter.write(p, -1, dir, 1, 77, tok.tokenizerJson(null), tok.tokenizerConfigJson(null), null);
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /**
     * A worker memory budget that holds half of the model's layers with an end (embedding or head) and a small KV
     * reserve, but not the whole model: with it, every pipeline has exactly two stages.
     */
    static long halfModelBudget(Path model) {
        dev.shardline.model.config.ModelConfig c = dev.shardline.model.config.ModelConfig.read(model.resolve("config.json"));
        dev.shardline.coordinator.plan.CostModel cost = dev.shardline.coordinator.plan.CostModel.of(c, 2,
                dev.shardline.coordinator.plan.PlanOptions.defaults().withMinKvReserveTokens(64));
        int half = c.numHiddenLayers() / 2;
        long need = Math.max(cost.memoryNeed(half, true, false), cost.memoryNeed(c.numHiddenLayers() - half, false, true));
        long whole = cost.memoryNeed(c.numHiddenLayers(), true, true);
        long budget = (need + whole) / 2;
        if (budget <= need || budget >= whole) throw new IllegalStateException("no two-stage budget for " + model);
        return budget;
    }

    private static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException ignored) {
            // best effort at exit
        }
    }

    private TestModels() {
    }
}
