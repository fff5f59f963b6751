package dev.shardline.cli;

import dev.shardline.model.demo.DemoCheckpointWriter;
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

    @Override
    public Integer call() {
        DemoPreset p = DemoPreset.fromCliName(preset);
        System.err.println("creating " + p.name().toLowerCase(Locale.ROOT).replace('_', '-') + " checkpoint in " + out
                + " -- the weights are RANDOM (normal(0, 0.02), seed " + seed + "): the text it generates is meaningless");
        QwenTokenizerSource tok = QwenTokenizerSource.defaults();
        create(p, layers, out, shards, seed, tok.tokenizerJson(Progress.lines()), tok.tokenizerConfigJson(Progress.lines()));
        System.err.println("done: " + out);
        return 0;
    }

    static void create(DemoPreset p, int layers, Path out, int shards, long seed, Path tokenizerJson, Path tokenizerConfig) {
        DemoCheckpointWriter.write(p, layers, out, shards, seed, tokenizerJson, tokenizerConfig, Progress.lines());
    }
}
