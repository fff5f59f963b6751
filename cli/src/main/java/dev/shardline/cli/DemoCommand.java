package dev.shardline.cli;

import dev.shardline.model.chat.ChatMessage;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.engine.LocalModel;
import dev.shardline.model.engine.TextResult;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.tokenizer.QwenTokenizerSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ./shardline demo}: creates the {@code small} demo model once (random weights, real tokenizer), then
 * chats with it in this process and prints the measured speed. The pipeline issue turns this into a cluster demo.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Create the small demo model if needed and chat with it (single process for now).")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--dir", paramLabel = "DIR", description = "where the demo model lives (default: $SHARDLINE_CACHE/models/small)")
    Path dir;

    @Option(names = "--max-tokens", defaultValue = "48", paramLabel = "N")
    int maxTokens;

    @Option(names = "--message", defaultValue = "Explain pipeline parallelism in one sentence.", paramLabel = "TEXT")
    String message;

    @Override
    public Integer call() {
        Path modelDir = dir != null ? dir : QwenTokenizerSource.cacheRoot().resolve("models").resolve("small");
        if (!Files.exists(modelDir.resolve("config.json"))) {
            System.out.println("== creating the demo model `small` (Qwen2.5-0.5B shapes, RANDOM weights) in " + modelDir);
            QwenTokenizerSource tok = QwenTokenizerSource.defaults();
            CreateModelCommand.create(DemoPreset.SMALL, -1, modelDir, 1, 1234, tok.tokenizerJson(Progress.lines()), tok.tokenizerConfigJson(Progress.lines()));
        }
        int threads = Runtime.getRuntime().availableProcessors();
        System.out.println("== loading " + modelDir + " on the cpu backend with " + threads + " threads");
        try (LocalModel model = LocalModel.open(modelDir, "cpu", threads, Progress.toStderr())) {
            System.out.printf("== model: %d layers, hidden %d, %d/%d heads, vocab %d, %.2f GB of bf16 weights%n",
                    model.config().numHiddenLayers(), model.config().hiddenSize(), model.config().numAttentionHeads(),
                    model.config().numKeyValueHeads(), model.config().vocabSize(),
                    model.forward().weights().bytesPerDecodedToken() / 1e9);
            String prompt = model.chatTemplate().render(List.of(ChatMessage.user(message)), List.of(), true);
            int[] ids = model.tokenizer().encode(prompt);
            System.out.println("== user: " + message);
            System.out.println("== chat prompt is " + ids.length + " tokens (QwQ template, generation starts inside <think>)");
            SamplingParams params = SamplingOptionsResolver.withMaxTokens(model.generationDefaults(), maxTokens, 1234L);
            GenerateCommand.StreamPrinter printer = new GenerateCommand.StreamPrinter(System.out, true);
            TextResult r = model.textGenerator().generate(ids, params, true, printer::print);
            printer.end();
            System.out.printf("== %d tokens, finish: %s; prefill %.1f tokens/s, decode %.1f tokens/s%n",
                    r.generated().length, r.finishReason().name().toLowerCase(),
                    r.timings().prefillTokensPerSecond(), r.timings().decodeTokensPerSecond());
            System.out.println("== the weights are random, so the text is meaningless; the speed is real.");
        }
        return 0;
    }
}
