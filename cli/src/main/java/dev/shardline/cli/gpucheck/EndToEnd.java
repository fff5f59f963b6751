package dev.shardline.cli.gpucheck;

import dev.shardline.cli.gpucheck.Report.Status;
import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.NextToken;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Section 3: whole demo models (random weights) through the engine on the backend and on the reference: greedy
 * decode of 24 tokens after a 16-token prompt of random ids. Equal token ids pass. On a mismatch both sequences are
 * shown with the first differing position and the reference's top-2 logit margin there (a margin near zero means a
 * near-tie that any f32 reordering may flip; a large one means a real bug).
 */
final class EndToEnd {
    static final int PROMPT = 16;
    static final int GENERATE = 24;

    private final Context c;
    private final Path modelsDir;

    /** {@code modelsDir} (nullable) may hold {@code tiny/} and {@code small/} demo checkpoints to reuse. */
    EndToEnd(Context c, Path modelsDir) {
        this.c = c;
        this.modelsDir = modelsDir;
    }

    void run() {
        c.report.section("3. End to end", "Greedy decode, " + PROMPT + "-token prompt (random ids) + " + GENERATE
                + " tokens, backend vs ReferenceKernels, demo models with random bf16 weights.",
                "model", "shape", "backend tokens", "reference", "result");
        Path temp = null;
        try {
            for (String name : c.shapes.e2eModels()) {
                try {
                    DemoPreset preset = DemoPreset.fromCliName(name);
                    Path dir = modelsDir == null ? null : modelsDir.resolve(preset.cliName());
                    if (dir == null || !Files.exists(dir.resolve("config.json"))) {
                        if (temp == null) temp = Files.createTempDirectory("shardline-gpu-check");
                        dir = temp.resolve(preset.cliName());
                        long start = System.nanoTime();
                        DemoCheckpointWriter.write(preset, -1, dir, 1, c.random.seed(), null, null, null);
                        c.log.printf("   (wrote the %s demo model to %s in %.1f s)%n", name, dir, (System.nanoTime() - start) / 1e9);
                    }
                    model(name, dir);
                } catch (Throwable e) {
                    c.report.error(name, e);
                }
            }
        } catch (Throwable e) {
            c.report.error("end to end", e);
        } finally {
            delete(temp);
        }
    }

    private void model(String name, Path dir) {
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        int vocab = Math.min(config.vocabSize(), 151643);
        int[] prompt = c.random.random().ints(PROMPT, 0, vocab).toArray();
        try (ModelWeights w = CheckpointLoader.load(dir, config, LayerRange.whole(config.numHiddenLayers()), null)) {
            long t0 = System.nanoTime();
            Greedy got = generate(w, c.backend, prompt);
            long t1 = System.nanoTime();
            Greedy ref = generate(w, c.reference, prompt);
            long t2 = System.nanoTime();
            c.log.printf("   (%s: backend %.1f s, reference %.1f s)%n", name, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
            String shape = config.numHiddenLayers() + " x " + config.hiddenSize();
            int diff = firstDifference(got.tokens, ref.tokens);
            if (diff < 0) {
                c.report.row(Status.PASS, name, shape, Arrays.toString(got.tokens), "equal");
            } else {
                String why = String.format(Locale.ROOT, "first difference at generated token %d: reference %s "
                        + "(its top-2 logit margin there %.2e)", diff, Arrays.toString(ref.tokens),
                        diff < ref.margins.size() ? ref.margins.get(diff) : Double.NaN);
                c.report.row(Status.FAIL, name, shape, Arrays.toString(got.tokens), why);
            }
        }
    }

    /** The greedy tokens and, per step, the gap between the best and second-best logit. */
    private record Greedy(int[] tokens, List<Double> margins) {
    }

    private static Greedy generate(ModelWeights w, Kernels kernels, int[] prompt) {
        List<Double> margins = new ArrayList<>();
        NextToken argmax = logits -> {
            int best = 0;
            for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
            double second = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < logits.length; i++) if (i != best) second = Math.max(second, logits[i]);
            margins.add(logits[best] - second);
            return best;
        };
        Qwen2Forward forward = new Qwen2Forward(w, kernels);
        try (Engine engine = new Engine(forward, EngineOptions.forContext(PROMPT + GENERATE + 16, 1))) {
            int[] tokens = engine.generate(prompt, GENERATE, Set.of(), argmax, TokenListener.NONE).tokens();
            return new Greedy(tokens, margins);
        } finally {
            forward.close();
        }
    }

    static int firstDifference(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return a.length == b.length ? -1 : n;
    }

    /** Removes the temporary demo models; a failure to do so is only logged (the checks are what matter). */
    private void delete(Path dir) {
        if (dir == null) return;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException | RuntimeException e) {
            c.log.println("   (could not delete " + dir + ": " + e.getMessage() + ")");
        }
    }
}
