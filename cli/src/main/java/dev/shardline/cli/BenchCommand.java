package dev.shardline.cli;

import dev.shardline.cli.bench.MemoryBandwidth;
import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.GenerationResult;
import dev.shardline.model.engine.LocalModel;
import dev.shardline.model.engine.NextToken;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.ProfilingKernels;
import dev.shardline.model.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code ./shardline bench}: prefill and decode speed of the single-process engine, the weight bytes one decoded
 * token reads, this machine's read bandwidth measured in the same run with the same threads, and their ratio
 * (decode efficiency). Bandwidth here swings by 2x from minute to minute, so only ratios of one run mean much.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure prefill/decode speed against memory bandwidth.")
final class BenchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--local", description = "benchmark local clusters (see --workers) against the single-process engine")
    boolean local;

    @Option(names = "--server", paramLabel = "HOST:PORT", description = "benchmark a running cluster (uses --concurrency)")
    String server;

    @Option(names = "--workers", split = ",", defaultValue = "1,2", paramLabel = "N,...", description = "with --local: cluster sizes")
    int[] workers;

    @Option(names = "--worker-threads", defaultValue = "0", paramLabel = "T",
            description = "with --local: compute threads per worker (default: --threads / workers, same total)")
    int workerThreads;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,4,16", paramLabel = "C,...",
            description = "with --local/--server: concurrent generations")
    int[] concurrency;

    @Option(names = "--rounds", defaultValue = "1", paramLabel = "R",
            description = "with --local: measure every setup R times, interleaved (for each concurrency the process, then "
                    + "each cluster, all kept up), and print each round's ratios and their median")
    int rounds;

    @Option(names = "--prompt-tokens", defaultValue = "512", paramLabel = "N")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "128", paramLabel = "N")
    int genTokens;

    @Option(names = "--bandwidth-gib", defaultValue = "2", paramLabel = "GIB", description = "buffer for the bandwidth probe (>= 2)")
    int bandwidthGib;

    @Option(names = "--kill-worker-after-s", paramLabel = "S",
            description = "with --local: the fault scenario: one cluster (--workers, first value; --pipelines) serves "
                    + "--concurrency streams (first value) and the last stage of its busiest pipeline gets SIGKILL after S "
                    + "seconds; reports the clients' pause, the re-plan time and throughput before and after")
    Double killWorkerAfterS;

    @Option(names = "--http", description = "with --local: one cluster (--workers, last value) serves the same load over "
            + "gRPC and over the OpenAI HTTP API (SSE), interleaved; reports the HTTP/gRPC throughput ratio and the TTFT "
            + "HTTP adds, per --concurrency, per round and their median (--rounds)")
    boolean http;

    @Option(names = "--http-client", defaultValue = "vertx", paramLabel = "vertx|jdk", description = "with --http: the "
            + "benchmark's HTTP client, Vert.x (Netty, like the gRPC client; default) or the JDK's java.net.http")
    String httpClient;

    @Option(names = "--pipelines", defaultValue = "2", paramLabel = "P", description = "with --kill-worker-after-s")
    int pipelines;

    @Option(names = "--kafka", description = "with --local: one cluster (--workers, last value) runs the same requests "
            + "through gRPC and as a batch through Kafka (an embedded broker); then the recovery time after a coordinator crash")
    boolean kafka;

    @Option(names = "--prefill-runs", defaultValue = "3", paramLabel = "N", description = "single-model bench: timed "
            + "prefills of the prompt (the measured run's and N - 1 more); the median is reported, with the range, as "
            + "llama-bench reports a mean of repetitions")
    int prefillRuns;

    @Option(names = "--decode-runs", defaultValue = "3", paramLabel = "N", description = "single-model bench: timed "
            + "decodes of --gen-tokens, each between two bandwidth probes; the median tokens/s and the median "
            + "efficiency (each run against the better of its own two probes) are reported, with the ranges")
    int decodeRuns;

    @Option(names = "--json", description = "print the figures as one JSON object")
    boolean json;

    @Option(names = "--profile", description = "after the measured run, run once more with per-operation timing and print it")
    boolean profile;

    static final NextToken GREEDY = logits -> {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    };

    @Override
    public Integer call() throws Exception {
        if (local && killWorkerAfterS != null) {
            if (modelOptions.model == null) throw new IllegalArgumentException("--kill-worker-after-s needs --model DIR");
            int w = workers[workers.length - 1];
            int threads = workerThreads > 0 ? workerThreads : Math.max(1, modelOptions.threadsOrDefault() / w);
            return new dev.shardline.cli.bench.FaultBench(new dev.shardline.cli.bench.FaultBench.Settings(modelOptions.model,
                    w, pipelines, threads, UpCommand.physicalMemory() / Math.max(1, w), concurrency[concurrency.length - 1],
                    promptTokens, genTokens, killWorkerAfterS), line -> {
                System.out.println(line);
                System.out.flush();
            }).run();
        }
        if (local && kafka) {
            if (modelOptions.model == null) throw new IllegalArgumentException("--kafka needs --model DIR");
            int w = workers[workers.length - 1];
            int threads = workerThreads > 0 ? workerThreads : Math.max(1, modelOptions.threadsOrDefault() / w);
            return new dev.shardline.cli.bench.KafkaBench(new dev.shardline.cli.bench.KafkaBench.Settings(modelOptions.model,
                    w, threads, UpCommand.physicalMemory() / Math.max(1, w), concurrency, promptTokens, genTokens, rounds),
                    line -> {
                        System.out.println(line);
                        System.out.flush();
                    }).run();
        }
        if (local && http) {
            if (modelOptions.model == null) throw new IllegalArgumentException("--http needs --model DIR");
            int w = workers[workers.length - 1];
            int threads = workerThreads > 0 ? workerThreads : Math.max(1, modelOptions.threadsOrDefault() / w);
            return new dev.shardline.cli.bench.HttpBench(new dev.shardline.cli.bench.HttpBench.Settings(modelOptions.model,
                    w, threads, UpCommand.physicalMemory() / Math.max(1, w), concurrency, promptTokens, genTokens, rounds,
                    httpClient), line -> {
                        System.out.println(line);
                        System.out.flush();
                    }).run();
        }
        if (local || server != null) {
            return new LoadBench(modelOptions, server, workers, workerThreads, concurrency, promptTokens, genTokens, rounds).run();
        }
        if (modelOptions.model == null) {
            throw new IllegalArgumentException("--model DIR is required (or --server HOST:PORT)");
        }
        if (prefillRuns < 1) {
            throw new IllegalArgumentException("--prefill-runs must be >= 1, got " + prefillRuns);
        }
        if (decodeRuns < 1) {
            throw new IllegalArgumentException("--decode-runs must be >= 1, got " + decodeRuns);
        }
        int threads = modelOptions.threadsOrDefault();
        try (LocalModel model = LocalModel.open(modelOptions.model, modelOptions.backend, threads, modelOptions.weightsMode(),
                Progress.toStderr())) {
            int vocab = Math.min(model.config().vocabSize(), 151643);
            int[] prompt = new SplittableRandom(1).ints(promptTokens, 0, vocab).toArray();
            int context = promptTokens + genTokens + 16;
            EngineOptions options = EngineOptions.forContext(context, 1).withMaxBatchTokens(Math.max(promptTokens, 1));

            System.err.println("warming up ...");
            run(model, options, java.util.Arrays.copyOf(prompt, Math.min(64, prompt.length)), 8);
            run(model, options, prompt, Math.min(genTokens, 16));

            // decode runs between bandwidth probes: each run is rated against the better of its neighbours, since
            // this machine's bandwidth moves from minute to minute
            long bytesPerToken = model.forward().weights().bytesPerDecodedToken();
            double[] probes = new double[decodeRuns + 1];
            double[] decodes = new double[decodeRuns];
            double[] efficiencies = new double[decodeRuns];
            GenerationResult r = null;
            probes[0] = MemoryBandwidth.measureReadGBps(threads, (long) Math.max(2, bandwidthGib) << 30, 3);
            for (int i = 0; i < decodeRuns; i++) {
                GenerationResult run = run(model, options, prompt, genTokens);
                probes[i + 1] = MemoryBandwidth.measureReadGBps(threads, (long) Math.max(2, bandwidthGib) << 30, 3);
                decodes[i] = run.decodeTokensPerSecond();
                efficiencies[i] = bytesPerToken * decodes[i] / (Math.max(probes[i], probes[i + 1]) * 1e9);
                if (r == null) r = run;
            }
            double bwBefore = probes[0];
            double bwAfter = probes[decodeRuns];
            double[] prefills = new double[prefillRuns];
            prefills[0] = r.prefillTokensPerSecond();
            for (int i = 1; i < prefills.length; i++) {
                prefills[i] = run(model, options, prompt, 1).prefillTokensPerSecond();
            }
            double[] sorted = sorted(prefills);
            double prefillTps = sorted[sorted.length / 2];
            double[] decodeSorted = sorted(decodes);
            double[] efficiencySorted = sorted(efficiencies);
            double decodeTps = decodeSorted[decodeSorted.length / 2];
            double efficiency = efficiencySorted[efficiencySorted.length / 2];
            double encodeMBps = model.hasTokenizer() ? tokenizerSpeed(model) : Double.NaN;
            var c = model.config();
            long matmulWeights = (long) c.numHiddenLayers() * (2L * c.hiddenSize() * c.hiddenSize()
                    + 2L * c.kvDim() * c.hiddenSize() + 3L * c.intermediateSize() * c.hiddenSize());
            double prefillGflops = 2.0 * matmulWeights * prefillTps / 1e9;   // the layers' matmuls
            String format = dev.shardline.model.source.ModelSources.open(modelOptions.model).describe();

            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", modelOptions.model.toString());
            m.put("format", format);
            m.put("backend", modelOptions.backend);
            m.put("threads", (long) threads);
            m.put("weights", modelOptions.weights);
            m.put("prompt_tokens", (long) promptTokens);
            m.put("gen_tokens", (long) r.tokens().length);
            m.put("prefill_tokens_per_second", prefillTps);
            m.put("prefill_tokens_per_second_runs", java.util.Arrays.stream(prefills).boxed().toList());
            m.put("prefill_gflops", prefillGflops);
            m.put("decode_tokens_per_second", decodeTps);
            m.put("decode_tokens_per_second_runs", java.util.Arrays.stream(decodes).boxed().toList());
            m.put("weight_bytes_per_token", bytesPerToken);
            m.put("read_bandwidth_gbps_before", bwBefore);
            m.put("read_bandwidth_gbps_after", bwAfter);
            m.put("read_bandwidth_gbps_probes", java.util.Arrays.stream(probes).boxed().toList());
            m.put("decode_efficiency", efficiency);
            m.put("decode_efficiency_runs", java.util.Arrays.stream(efficiencies).boxed().toList());
            m.put("tokenizer_encode_mb_per_second", encodeMBps);
            if (json) {
                System.out.println(Json.writePretty(m));
            } else {
                System.out.printf("model            %s (%s, %d threads, weights %s)%n", modelOptions.model, modelOptions.backend,
                        threads, modelOptions.weights);
                System.out.printf("format           %s%n", format);
                System.out.printf("prefill          %8.1f tokens/s  (%d-token prompt, median of %d: %.1f-%.1f; %.1f GFLOP/s in the "
                        + "layers' matmuls)%n", prefillTps, promptTokens, prefills.length, sorted[0], sorted[sorted.length - 1],
                        prefillGflops);
                System.out.printf("decode           %8.2f tokens/s  (%d tokens, median of %d: %.2f-%.2f)%n", decodeTps,
                        r.tokens().length, decodes.length, decodeSorted[0], decodeSorted[decodeSorted.length - 1]);
                System.out.printf("bytes per token  %8.3f GB (weights read per decoded token)%n", bytesPerToken / 1e9);
                System.out.printf("read bandwidth   %8.1f GB/s before, %.1f GB/s after (best of 3 passes, %d threads; %d probes: %.1f-%.1f)%n",
                        bwBefore, bwAfter, threads, probes.length, sorted(probes)[0], sorted(probes)[probes.length - 1]);
                System.out.printf("decode efficiency%8.2f  (median of %d: %.2f-%.2f; each run's bytes/token x tokens/s / the better "
                        + "of its two probes)%n", efficiency, efficiencies.length, efficiencySorted[0],
                        efficiencySorted[efficiencySorted.length - 1]);
                if (model.hasTokenizer()) System.out.printf("tokenizer encode %8.2f MB/s%n", encodeMBps);
            }
            if (profile) {
                printProfile(model, options, prompt);
            }
        }
        return 0;
    }

    private void printProfile(LocalModel model, EngineOptions options, int[] prompt) {
        ProfilingKernels profiling = new ProfilingKernels(model.forward().kernels());
        Qwen2Forward forward = new Qwen2Forward(model.forward().weights(), profiling);
        Engine prefill = new Engine(forward, options);
        prefill.submit(prompt, 1, Set.of(), GREEDY, TokenListener.NONE);
        prefill.step();
        System.err.println("\nprofile of one " + prompt.length + "-token prefill step:\n" + profiling.report());
        prefill.runUntilDone();
        profiling.reset();
        Engine decode = new Engine(forward, options);
        decode.generate(new int[]{1, 2, 3, 4}, genTokens + 1, Set.of(), GREEDY, TokenListener.NONE);
        System.err.println("profile of " + genTokens + " decode steps (after a 4-token prefill):\n" + profiling.report());
    }

    private static double[] sorted(double[] values) {
        double[] copy = values.clone();
        java.util.Arrays.sort(copy);
        return copy;
    }

    private static GenerationResult run(LocalModel model, EngineOptions options, int[] prompt, int gen) {
        Engine engine = new Engine(model.forward(), options);
        return engine.generate(prompt, gen, Set.of(), GREEDY, TokenListener.NONE);
    }

    private static double tokenizerSpeed(LocalModel model) {
        String sample = ("Shardline splits QwQ-32B's 64 layers across workers; each stage streams bf16 activations "
                + "to the next. 量子计算的基本原理是什么？ Привет, мир! def f(x):\n    return x ** 2  # 🚀\n").repeat(2000);
        model.tokenizer().encode(sample);
        long start = System.nanoTime();
        int reps = 3;
        for (int i = 0; i < reps; i++) model.tokenizer().encode(sample);
        double seconds = (System.nanoTime() - start) / 1e9;
        return sample.getBytes(StandardCharsets.UTF_8).length * (double) reps / seconds / 1e6;
    }
}
