package dev.shardline.cli.gpucheck;

import dev.shardline.cli.gpucheck.Report.Status;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.worker.cuda.CudaDecodeGraphs;
import dev.shardline.worker.cuda.CudaKernels;
import dev.shardline.worker.cuda.DecodeGraphPlan;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.util.List;
import java.util.Locale;
import java.util.function.LongFunction;

/**
 * Section 4: speed against yardsticks measured in the same run. The bandwidth yardstick B is the backend's own
 * device-to-device copy, counted as DRAM traffic (bytes read + bytes written per second): a decode matvec is pure
 * reading, so its weight bytes per second over B says how close it streams to what the memory delivers (about 1.0
 * is the ceiling; the read-only figure of the copy, B / 2, is printed too). Results feed the goals of section 5.
 */
final class Timing {
    private final Context c;
    private final Kernels be;
    private final Timer timer;
    private final long torchTimeoutSeconds;

    // measured values, NaN until measured; read by the summary
    double copyTrafficGBps = Double.NaN;
    double matvecRatio = Double.NaN;
    double layerDecodeOverFloor = Double.NaN;
    double prefillOverTorch = Double.NaN;
    String matvecText = "";
    String layerText = "";
    String prefillText = "";

    Timing(Context c, long torchTimeoutSeconds) {
        this.c = c;
        this.be = c.backend;
        this.timer = c.gpu() ? new Timer(0.25, 5) : new Timer(0.05, 3);
        this.torchTimeoutSeconds = torchTimeoutSeconds;
    }

    void run() {
        c.report.section("4. Timing", "Host wall time per call: batches of calls each ended by reading one float back "
                        + "(the backend's stream is in order), median of batches, after a warm-up call. "
                        + "B = copy bandwidth as DRAM traffic (read + write bytes/s).",
                "measurement", "shape", "time", "rate", "vs yardstick", "goal", "status");
        step("copy bandwidth", this::copy);
        LayerTensors w = c.tensors();
        step("decode matvec gate", () -> matvec("gate", w.layer().gateWeight(), 1, true));
        step("decode matvec gate T=8", () -> matvec("gate", w.layer().gateWeight(), 8, false));
        step("decode matvec down", () -> matvec("down", w.layer().downWeight(), 1, false));
        step("decode matvec lm_head", () -> matvec("lm_head", w.lmHead(), 1, false));
        step("prefill matmul", () -> prefill(w.layer().gateWeight()));
        step("layer", () -> layer(w.layer()));
        if (c.gpu()) {
            for (int prompt : new int[] {4096, 16384}) {
                step("prefill attention " + prompt, () -> prefillAttention(prompt));
            }
        }
    }

    /**
     * The attention of a whole prompt of {@code prompt} tokens as the worker prefills it: chunks of the shapes'
     * prefill size, each attending to everything before it (cuda: flash prefill tiles over the bf16 cache the
     * worker allocates). storeKv is not timed; the cache's contents do not change the work.
     */
    private void prefillAttention(int prompt) {
        ModelConfig config = c.shapes.config();
        int chunk = c.shapes.prefillTiming();
        int blockSize = 16;
        int[] table = range(0, (prompt + blockSize - 1) / blockSize);
        int heads = config.numAttentionHeads();
        int qDim = heads * config.headDim();
        float scale = (float) (1 / Math.sqrt(config.headDim()));
        List<AttentionBatch> chunks = new java.util.ArrayList<>();
        for (int pos = 0; pos < prompt; pos += chunk) {
            chunks.add(new AttentionBatch(List.of(new SequenceSlice(0, Math.min(chunk, prompt - pos), pos, table)),
                    heads, config.numKeyValueHeads(), config.headDim(), scale));
        }
        LongFunction<Activations> cacheMemory = be instanceof CudaKernels cuda ? cuda::allocateKv : be::allocate;
        String cache = be instanceof CudaKernels cuda ? cuda.kvDtype() + " cache" : "f32 cache";
        try (KvLayer kv = KvLayer.allocate(cacheMemory, table.length, blockSize, config.kvDim());
             Activations q = be.allocate((long) chunk * qDim); Activations out = be.allocate((long) chunk * qDim)) {
            be.write(c.random.floats(chunk * qDim, 1.0), 0, q, 0, chunk * qDim);
            double t = timer.secondsPerCall(() -> {
                for (AttentionBatch b : chunks) be.attention(q, out, b, kv);
            }, Timer.readOne(be, out));
            double flops = 4.0 * qDim * (double) prompt * (prompt + 1) / 2.0;
            c.report.row(Status.INFO, "prefill attention", prompt + " tokens in chunks of " + chunk + ", " + cache,
                    ms(t), tflops(flops / t / 1e12), "causal attention FLOPs", "");
        }
    }

    private void step(String what, Runnable body) {
        try {
            body.run();
        } catch (Throwable e) {
            c.report.error(what, e);
        }
    }

    private void copy() {
        int n = Math.toIntExact(c.shapes.copyBytes() / Float.BYTES);
        try (Activations src = be.allocate(n); Activations dst = be.allocate(n)) {
            be.write(new float[]{1f}, 0, src, n - 1, 1);
            double t = timer.secondsPerCall(() -> be.copy(src, 0, dst, 0, n), Timer.readOne(be, dst));
            double bytes = 4.0 * n;
            copyTrafficGBps = 2 * bytes / t / 1e9;
            c.report.row(Status.INFO, "copy (device to device)", mib(bytes) + " f32", ms(t),
                    String.format(Locale.ROOT, "B = %.0f GB/s read+write (%.0f GB/s read)", copyTrafficGBps,
                            bytes / t / 1e9), "yardstick", "");
        }
    }

    private void matvec(String name, WeightTensor weight, int tokens, boolean goal) {
        int n = weight.rows();
        int k = weight.cols();
        try (Activations x = be.allocate((long) tokens * k); Activations out = be.allocate((long) tokens * n)) {
            be.write(c.random.floats(tokens * k, 1.0), 0, x, 0, tokens * k);
            double t = timer.secondsPerCall(() -> be.matmul(x, tokens, weight, null, out), Timer.readOne(be, out));
            double gbps = weight.byteSize() / t / 1e9;
            double ratio = gbps / copyTrafficGBps;
            String shape = "[" + n + "," + k + "] bf16 T=" + tokens;
            String rate = String.format(Locale.ROOT, "%.0f GB/s of weights", gbps);
            String vs = String.format(Locale.ROOT, "%.2f x B", ratio);
            if (goal) {
                matvecRatio = ratio;
                matvecText = String.format(Locale.ROOT, "%.0f GB/s = %.2f x B (%.0f GB/s)", gbps, ratio, copyTrafficGBps);
            }
            c.report.row(goal ? met(ratio, ratio >= 0.8) : Status.INFO, "decode matmul " + name, shape, ms(t), rate, vs,
                    goal ? ">= 0.8 x B" : "");
        }
    }

    private void prefill(WeightTensor weight) {
        int tokens = c.shapes.prefillTiming();
        int n = weight.rows();
        int k = weight.cols();
        double t;
        try (Activations x = be.allocate((long) tokens * k); Activations out = be.allocate((long) tokens * n)) {
            be.write(c.random.floats(tokens * k, 1.0), 0, x, 0, tokens * k);
            t = timer.secondsPerCall(() -> be.matmul(x, tokens, weight, null, out), Timer.readOne(be, out));
        }
        double tflops = 2.0 * tokens * n * k / t / 1e12;
        String shape = "[" + tokens + "," + k + "] x [" + n + "," + k + "]^T";
        TorchProbe.Result torch = c.gpu() ? TorchProbe.measure(tokens, n, k, torchTimeoutSeconds)
                : new TorchProbe.Result(Double.NaN, "PyTorch not measured (backend " + be.name() + " is not a GPU)");
        String vs;
        Status status;
        if (torch.measured()) {
            prefillOverTorch = tflops / torch.tflops();
            vs = String.format(Locale.ROOT, "%.2f x PyTorch bf16 (%.1f TFLOP/s, %s)", prefillOverTorch, torch.tflops(),
                    torch.message());
            status = met(prefillOverTorch, prefillOverTorch >= 0.3);
        } else {
            vs = torch.message();
            status = Status.NOT_RUN;
        }
        prefillText = tflops(tflops)
                + (torch.measured() ? String.format(Locale.ROOT, " = %.2f x PyTorch", prefillOverTorch) : "");
        c.report.row(status, "prefill matmul", shape, ms(t), tflops(tflops), vs,
                ">= 0.3 x PyTorch");
    }

    /**
     * One decoder layer through {@link Qwen2Forward} over a middle range (no embedding, no head): a decode step at
     * the shapes' context (cache filled by prefill chunks first), and a prefill chunk from position 0. Each forward
     * writes its hidden input and reads its hidden output back, so a call is synchronous by itself.
     */
    private void layer(LayerWeights layer) {
        ModelConfig config = c.shapes.config();
        LayerRange range = new LayerRange(0, 1, false, false);
        ModelWeights weights = new ModelWeights(config, range, null, List.of(layer), null, null, null);
        int context = c.shapes.layerContext();
        int chunk = c.shapes.prefillTiming();
        int blockSize = 16;
        int decodeBlocks = (context + 1 + blockSize - 1) / blockSize;
        int chunkBlocks = (chunk + blockSize - 1) / blockSize;
        int[] decodeTable = range(0, decodeBlocks);
        int[] chunkTable = range(decodeBlocks, chunkBlocks);
        int hidden = config.hiddenSize();
        Qwen2Forward forward = new Qwen2Forward(weights, be);
        try (KvCache cache = KvCache.allocate(be, config, range, decodeBlocks + chunkBlocks, blockSize)) {
            for (int pos = 0; pos < context; pos += chunk) {                  // fill the cache: prefill chunks
                int rows = Math.min(chunk, context - pos);
                forward.forward(List.of(new SequenceStep(null, rows, pos, decodeTable, false)),
                        c.random.floats(rows * hidden, 1.0), cache);
            }
            float[] one = c.random.floats(hidden, 1.0);
            List<SequenceStep> decode = List.of(new SequenceStep(null, 1, context, decodeTable, false));
            double tDecode = timer.secondsPerCall(() -> forward.forward(decode, one, cache), () -> { });
            double floor = layer.byteSize() / (copyTrafficGBps * 1e9);
            layerDecodeOverFloor = tDecode / floor;
            layerText = String.format(Locale.ROOT, "%.3f ms = %.2f x floor %.3f ms", tDecode * 1e3, layerDecodeOverFloor,
                    floor * 1e3);
            c.report.row(met(layerDecodeOverFloor, layerDecodeOverFloor <= 1.3), "layer decode step", "1 token at context " + context,
                    ms(tDecode), String.format(Locale.ROOT, "%.0f GB/s of weights", layer.byteSize() / tDecode / 1e9),
                    String.format(Locale.ROOT, "%.2f x floor (%s / B = %s)", layerDecodeOverFloor,
                            mib(layer.byteSize()), ms(floor)), "<= 1.3 x floor");
            if (be instanceof CudaKernels cuda) {
                decodeGraph(cuda, weights, decode, one, cache, tDecode);
            }

            float[] x = c.random.floats(chunk * hidden, 1.0);
            List<SequenceStep> prefill = List.of(new SequenceStep(null, chunk, 0, chunkTable, false));
            double tPrefill = timer.secondsPerCall(() -> forward.forward(prefill, x, cache), () -> { });
            double flops = 2.0 * chunk * matrixElements(layer)
                    + 4.0 * config.numAttentionHeads() * config.headDim() * chunk * (chunk + 1) / 2.0;
            c.report.row(Status.INFO, "layer prefill chunk", chunk + " tokens from position 0", ms(tPrefill),
                    tflops(flops / tPrefill / 1e12) + String.format(Locale.ROOT, ", %.0f tokens/s", chunk / tPrefill),
                    "matmuls + causal attention FLOPs", "");
        } finally {
            forward.close();
        }
    }

    /**
     * The same decode step with its layer replayed as a CUDA graph ({@code cuda-graphs}): the step's inputs staged,
     * one cudaGraphLaunch instead of the layer's launches. The timer's two warm-up calls are the graph's warm-up and
     * capture; the timed calls replay it.
     */
    private void decodeGraph(CudaKernels cuda, ModelWeights weights, List<SequenceStep> decode, float[] one,
                             KvCache cache, double tEager) {
        CudaDecodeGraphs graphs = new CudaDecodeGraphs(cuda, new DecodeGraphPlan(true, 1, false),
                CudaDecodeGraphs.Mode.GRAPHS);
        Qwen2Forward forward = new Qwen2Forward(weights, be, graphs);
        try {
            double t = timer.secondsPerCall(() -> forward.forward(decode, one, cache), () -> { });
            CudaDecodeGraphs.Stats s = graphs.stats();
            String how = s.lastFailure() != null ? "capture failed: " + s.lastFailure()
                    : s.replays() + " replays of " + s.captures() + " capture(s)";
            c.report.row(s.lastFailure() != null ? Status.FAIL : Status.INFO, "layer decode step, CUDA graph",
                    "1 token at context " + c.shapes.layerContext(), ms(t),
                    String.format(Locale.ROOT, "%.2f x eager (%s)", tEager / t, ms(tEager)), how, "");
        } finally {
            forward.close();
        }
    }

    private static long matrixElements(LayerWeights l) {
        return l.qWeight().elementCount() + l.kWeight().elementCount() + l.vWeight().elementCount()
                + l.oWeight().elementCount() + l.gateWeight().elementCount() + l.upWeight().elementCount()
                + l.downWeight().elementCount();
    }

    private static int[] range(int from, int count) {
        int[] r = new int[count];
        for (int i = 0; i < count; i++) r[i] = from + i;
        return r;
    }

    /** MET or MISSED; NOT RUN when the value could not be computed (its yardstick failed). */
    static Status met(double value, boolean ok) {
        return Double.isNaN(value) ? Status.NOT_RUN : ok ? Status.MET : Status.MISSED;
    }

    static String tflops(double t) {
        return String.format(Locale.ROOT, t >= 10 ? "%.0f TFLOP/s" : t >= 1 ? "%.1f TFLOP/s" : "%.3f TFLOP/s", t);
    }

    static String ms(double seconds) {
        return String.format(Locale.ROOT, "%.3f ms", seconds * 1e3);
    }

    static String mib(double bytes) {
        return bytes >= 1 << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (1 << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (1 << 20));
    }
}
