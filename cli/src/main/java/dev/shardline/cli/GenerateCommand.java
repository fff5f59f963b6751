package dev.shardline.cli;

import dev.shardline.cli.client.ClusterClient;
import dev.shardline.model.chat.ChatMessage;
import dev.shardline.model.engine.LocalModel;
import dev.shardline.model.engine.TextDelta;
import dev.shardline.model.engine.TextResult;
import dev.shardline.model.json.Json;
import dev.shardline.model.sampling.SamplingParams;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ./shardline generate}: one prompt, streamed as it is generated, or one JSON object with {@code --json}. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a local checkpoint in this process.")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR", description = "checkpoint directory or GGUF file (single process; or use --server)")
    java.nio.file.Path model;

    @Option(names = "--server", paramLabel = "HOST:PORT", description = "send the request to a running cluster instead")
    String server;

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME",
            description = "compute backend for --model: cpu (Vector API, default), reference (the scalar oracle, slow), or cuda (needs a GPU)")
    String backend;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "compute threads for --model (default: all cores)")
    int threads;

    @Option(names = "--weights", defaultValue = "copy", paramLabel = "copy|mmap",
            description = "with --model: copy weights into memory (default, faster) or read them in place (mmap)")
    String weights;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "raw text prompt (no chat template)")
        String prompt;
        @Option(names = "--chat", paramLabel = "TEXT", description = "a user message, rendered with the model's chat template")
        String chat;
        @Option(names = "--token-ids", paramLabel = "IDS", split = ",", description = "prompt token ids, comma separated")
        int[] tokenIds;
    }

    @Option(names = "--system", paramLabel = "TEXT", description = "system message (with --chat)")
    String system;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--json", description = "print one JSON object (ids, text, timings) instead of streaming text")
    boolean json;

    @Override
    public Integer call() {
        if ((model == null) == (server == null)) {
            throw new IllegalArgumentException("give exactly one of --model DIR (run here) or --server HOST:PORT (a cluster)");
        }
        return server != null ? remote() : local();
    }

    private int remote() {
        boolean chatMode = input.chat != null;
        try (ClusterClient client = new ClusterClient(server)) {
            StreamPrinter printer = new StreamPrinter(System.out, chatMode);
            java.util.function.Consumer<TextDelta> sink = json ? d -> { } : printer::print;
            dev.shardline.proto.v1.SamplingParams params = sampling.toProto();
            ClusterClient.Result r;
            List<Integer> promptIds = null;
            if (chatMode) {
                r = client.chat(ClusterClient.chat(system, input.chat, params), sink);
            } else if (input.tokenIds != null) {
                promptIds = Arrays.stream(input.tokenIds).boxed().toList();
                r = client.generate(ClusterClient.tokens(input.tokenIds, params), sink);
            } else {
                r = client.generate(ClusterClient.text(input.prompt, params), sink);
            }
            if (json) {
                out().println(RemoteOutput.jsonText(r, promptIds, chatMode));
            } else {
                printer.end();
                RemoteOutput.summary(r);
            }
        }
        return 0;
    }

    private static PrintStream out() {
        return System.out;
    }

    /** cuda: the GPU backend (fails at start with the driver's message where none is usable), weights uploaded. */
    private LocalModel openModel(int threadCount) {
        var progress = json ? null : Progress.toStderr();
        if (backend.equalsIgnoreCase("cuda")) {
            var kernels = dev.shardline.worker.cuda.CudaBackend.create(threadCount);
            return LocalModel.open(this.model, kernels, dev.shardline.model.weights.ResidentWeights.Mode.MMAP, progress);
        }
        return LocalModel.open(this.model, backend, threadCount,
                dev.shardline.model.weights.ResidentWeights.Mode.parse(weights), progress);
    }

    private int local() {
        PrintStream out = System.out;
        long loadStart = System.nanoTime();
        int threadCount = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        try (LocalModel model = openModel(threadCount)) {
            long loadNanos = System.nanoTime() - loadStart;
            boolean chatMode = input.chat != null;
            int[] prompt = promptTokens(model);
            SamplingParams params = sampling.resolve(model.generationDefaults());
            var defaults = model.generationDefaults();
            System.err.printf("sampling defaults from %s: temperature %s, top_p %s, top_k %d (flags override)%n",
                    defaults.source(), defaults.temperature(), defaults.topP(), defaults.topK());
            StreamPrinter printer = new StreamPrinter(out, chatMode);
            TextResult result = model.textGenerator().generate(prompt, params, chatMode, json ? d -> { } : printer::print);
            if (json) {
                out.println(Json.writePretty(toJson(result, loadNanos)));
            } else {
                printer.end();
                System.err.printf("[%d prompt tokens, %d generated, finish: %s | prefill %.1f tok/s, decode %.1f tok/s]%n",
                        prompt.length, result.generated().length, result.finishReason().name().toLowerCase(),
                        result.timings().prefillTokensPerSecond(), result.timings().decodeTokensPerSecond());
            }
        }
        return 0;
    }

    private int[] promptTokens(LocalModel model) {
        if (input.tokenIds != null) {
            return input.tokenIds;
        }
        if (input.prompt != null) {
            return model.tokenizer().encode(input.prompt);
        }
        List<ChatMessage> messages = new ArrayList<>();
        if (system != null) messages.add(ChatMessage.system(system));
        messages.add(ChatMessage.user(input.chat));
        return model.tokenizer().encode(model.chatTemplate().render(messages, List.of(), true));
    }

    private static Map<String, Object> toJson(TextResult r, long loadNanos) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_token_ids", Arrays.stream(r.prompt()).boxed().toList());
        m.put("generated_token_ids", Arrays.stream(r.generated()).boxed().toList());
        m.put("text", r.text());
        if (r.reasoning() != null) {
            m.put("reasoning", r.reasoning());
            m.put("answer", r.answer());
        }
        m.put("finish_reason", r.finishReason().name().toLowerCase());
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("load_ms", loadNanos / 1e6);
        t.put("prefill_ms", r.timings().prefillNanos() / 1e6);
        t.put("decode_ms", r.timings().decodeNanos() / 1e6);
        t.put("prefill_tokens_per_second", r.timings().prefillTokensPerSecond());
        t.put("decode_tokens_per_second", r.timings().decodeTokensPerSecond());
        m.put("timings", t);
        return m;
    }

    /** Streams text deltas; in chat mode the reasoning and the answer get their own headings. */
    static final class StreamPrinter {
        private final PrintStream out;
        private final boolean chatMode;
        private boolean reasoningShown;
        private boolean answerShown;

        StreamPrinter(PrintStream out, boolean chatMode) {
            this.out = out;
            this.chatMode = chatMode;
        }

        void print(TextDelta d) {
            if (!chatMode) {
                out.print(d.answer());
            } else {
                if (!d.reasoning().isEmpty()) {
                    if (!reasoningShown) out.print("--- reasoning ---\n");
                    reasoningShown = true;
                    out.print(d.reasoning());
                }
                if (!d.answer().isEmpty()) {
                    if (!answerShown) out.print((reasoningShown ? "\n" : "") + "--- answer ---\n");
                    answerShown = true;
                    out.print(d.answer());
                }
            }
            out.flush();
        }

        void end() {
            out.println();
            out.flush();
        }
    }
}
