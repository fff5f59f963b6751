package dev.shardline.cli;

import dev.shardline.model.demo.DemoCheckpointWriter;
import dev.shardline.model.gguf.GgufConverter;
import dev.shardline.model.gguf.GgufModel;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.tokenizer.QwenTokenizerSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code ./shardline model create}: a random-weight checkpoint in Hugging Face layout, with the real Qwen tokenizer. */
@Command(name = "create", mixinStandardHelpOptions = true,
        description = "Write a demo checkpoint with RANDOM weights (tiny, small, qwq-slice) and the real Qwen tokenizer.")
final class CreateModelCommand implements Callable<Integer> {
    @Option(names = "--preset", required = true, paramLabel = "NAME", description = "tiny, small or qwq-slice")
    String preset;

    @Option(names = "--out", required = true, paramLabel = "DIR")
    Path out;

    @Option(names = "--layers", defaultValue = "-1", paramLabel = "N", description = "decoder layers (default: the preset's; qwq-slice: 2)")
    int layers;

    @Option(names = "--shards", defaultValue = "1", paramLabel = "N", description = "safetensors shards (N > 1 writes an index)")
    int shards;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "S")
    long seed;

    @Option(names = "--quant", paramLabel = "TYPE", description = "q8_0, q4_k_m or bf16: write one GGUF file (--out FILE.gguf) "
            + "quantized (bf16: as created) by Shardline's own writer, with the tokenizer inside; llama.cpp reads it")
    String quant;

    @Override
    public Integer call() {
        DemoPreset p = DemoPreset.fromCliName(preset);
        System.err.println("creating " + p.name().toLowerCase(Locale.ROOT).replace('_', '-') + " checkpoint in " + out
                + " -- the weights are RANDOM (normal(0, 0.02), seed " + seed + "): the text it generates is meaningless");
        QwenTokenizerSource tok = QwenTokenizerSource.defaults();
        if (quant == null) {
            create(p, layers, out, shards, seed, tok.tokenizerJson(Progress.lines()), tok.tokenizerConfigJson(Progress.lines()));
            System.err.println("done: " + out);
            return 0;
        }
        GgufConverter.Scheme scheme = GgufConverter.Scheme.parse(quant);
        if (!out.getFileName().toString().endsWith(".gguf")) {
            throw new IllegalArgumentException("--out must name a .gguf file with --quant, got " + out);
        }
        Path work = out.toAbsolutePath().resolveSibling(out.getFileName() + ".bf16-checkpoint");
        try {
            create(p, layers, work, 1, seed, tok.tokenizerJson(Progress.lines()), tok.tokenizerConfigJson(Progress.lines()));
            System.err.println("quantizing to " + scheme + " (Shardline's GGUF writer): " + out);
            GgufConverter.convert(work, out, scheme, "shardline demo " + preset + " (random weights)", Progress.lines());
        } finally {
            deleteTree(work);
        }
        System.err.println("done: " + out + " (" + GgufModel.open(out).describe() + ")");
        return 0;
    }

    private static void deleteTree(Path dir) {
        if (!java.nio.file.Files.exists(dir)) return;
        try (var walk = java.nio.file.Files.walk(dir)) {
            for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.delete(f);
        } catch (java.io.IOException e) {
            System.err.println("could not delete " + dir + ": " + e.getMessage());
        }
    }

    static void create(DemoPreset p, int layers, Path out, int shards, long seed, Path tokenizerJson, Path tokenizerConfig) {
        DemoCheckpointWriter.write(p, layers, out, shards, seed, tokenizerJson, tokenizerConfig, Progress.lines());
    }
}
