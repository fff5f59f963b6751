package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.checkpoint.LoadProgress;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.StepGraphs;
import dev.shardline.model.kernels.Backends;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.model.weights.ResidentWeights;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.cuda.CudaBackend;
import dev.shardline.worker.cuda.CudaDecodeGraphs;
import dev.shardline.worker.cuda.CudaKernels;
import dev.shardline.worker.cuda.DeviceSampling;
import dev.shardline.model.forward.DeviceSampler;
import dev.shardline.worker.host.ThreadNice;
import dev.shardline.worker.stage.StageExecutor;
import io.grpc.Status;

import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.Consumer;

/**
 * The layers a worker holds: its weights (mapped, or copied into process memory), the kernels and the forward pass
 * over them, and the KV cache of those layers. They outlive an assignment: a released worker keeps them, and an
 * Assign of the same model and layer range takes them over without loading again (the KV cache is allocated again
 * only when its block count or block size changes). Closing releases all of it.
 */
final class LoadedLayers implements AutoCloseable {
    /**
     * Tests only: wraps the kernels a load creates (identity otherwise). A GPU fault cannot happen on a machine
     * without a GPU, so the tests of the worker's reaction to one inject it here.
     */
    static volatile java.util.function.UnaryOperator<dev.shardline.model.kernels.Kernels> faultInjection = k -> k;

    private final Path dir;
    private final String fingerprint;
    private final LayerRange range;
    private final AssignmentPlan loadedFor;
    private final ModelWeights weights;
    private final Kernels kernels;
    private final CudaKernels cuda;           // the same kernels when the backend is cuda (its bf16 KV cache)
    private final DeviceSampler sampler;      // cuda narrowed by cuda-sampling; null: the host samples every token
    private final Qwen2Forward forward;
    private volatile KvCache cache;   // replaced by ensureKv while no assignment is in service
    private boolean closed;

    private LoadedLayers(AssignmentPlan plan, ModelWeights weights, Kernels kernels, CudaKernels cuda,
                         DeviceSampler sampler, Qwen2Forward forward, KvCache cache) {
        this.dir = plan.dir().toAbsolutePath().normalize();
        this.fingerprint = plan.fingerprint();
        this.range = plan.range();
        this.loadedFor = plan;
        this.weights = weights;
        this.kernels = kernels;
        this.cuda = cuda;
        this.sampler = sampler;
        this.forward = forward;
        this.cache = cache;
    }

    /**
     * Maps the range's weights (copying them when configured), creates the kernels, uploads the weights to them,
     * allocates the KV cache and warms the forward pass and the sampler up.
     */
    static LoadedLayers load(AssignmentPlan plan, WorkerConfig cfg, Consumer<LoadProgress> progress,
                             Consumer<String> log) throws AssignException {
        ModelWeights weights = null;
        Kernels kernels = null;
        KvCache cache = null;
        try {
            weights = readWeights(plan, cfg, progress, log);
            CudaKernels cuda = cfg.backend().equals("cuda") ? CudaBackend.create(cfg.threadsOrDefault(),
                    cfg.cuda().device(), cfg.cuda().debugSync(), cfg.cuda().kvDtype()) : null;
            kernels = cuda != null ? cuda : Backends.create(cfg.backend(), cfg.threadsOrDefault());
            kernels = faultInjection.apply(kernels);
            if (kernels instanceof VectorKernels vector) {
                vector.warmUp(weights);
            }
            prepare(kernels, weights, log);
            cache = kvCache(kernels, cuda, plan.config(), plan.range(), plan.assignment().getKvBlocks(),
                    plan.assignment().getBlockSize());
            StepGraphs graphs = cuda != null ? CudaDecodeGraphs.of(cuda, cfg.cuda().graphPlan()) : StepGraphs.NONE;
            if (graphs != StepGraphs.NONE) {
                log.accept("cuda-graphs: decode steps of up to " + cfg.cuda().graphMaxBatch()
                        + " sequences replay one CUDA graph per batch bucket " + cfg.cuda().graphPlan().buckets()
                        + (plan.range().head() && cfg.cuda().graphPlan().head()
                        ? " (with the head when every token is chosen on the device)" : ""));
            }
            Qwen2Forward forward = new Qwen2Forward(weights, kernels, graphs);
            long warm = System.nanoTime();
            new StageExecutor(forward, cache, plan.vocabLimit()).warmUp();
            log.accept(String.format("warmed up the forward pass in %.1f s", (System.nanoTime() - warm) / 1e9));
            if (graphs instanceof CudaDecodeGraphs g) {
                CudaDecodeGraphs.Stats st = g.stats();
                log.accept("cuda-graphs after the warm-up: " + st.captures() + " captured"
                        + (st.lastFailure() != null ? "; a capture failed, its shape runs eagerly: " + st.lastFailure()
                        : ""));
            }
            DeviceSampler sampler = cfg.cuda().sampling().apply(cuda);
            if (cuda != null && cfg.cuda().sampling() != DeviceSampling.DEVICE) {
                log.accept("cuda-sampling=" + cfg.cuda().sampling().name().toLowerCase(java.util.Locale.ROOT)
                        + ": " + (sampler == null ? "every token" : "every drawn token") + " is chosen on the host");
            }
            return new LoadedLayers(plan, weights, kernels, cuda, sampler, forward, cache);
        } catch (OutOfMemoryError e) {
            release(cache, kernels, weights);
            throw new AssignException(Status.Code.RESOURCE_EXHAUSTED, "out of memory while loading " + plan.range()
                    + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            release(cache, kernels, weights);
            throw new AssignException(Status.Code.FAILED_PRECONDITION, "loading " + plan.range() + " from "
                    + plan.dir() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Maps the range's weights and copies them into process memory when configured (a GPU uploads from the mapping),
     * on a thread of its own at nice {@code load-nice}: reading and copying gigabytes is the bulk of a load, and on a
     * host where other workers serve (a pipeline re-forming beside one that took over a failed pipeline's sequences)
     * it must not take their cores. The kernels' compute threads are created afterwards by the calling thread, so
     * they keep its priority.
     */
    private static ModelWeights readWeights(AssignmentPlan plan, WorkerConfig cfg, Consumer<LoadProgress> progress,
                                            Consumer<String> log) {
        FutureTask<ModelWeights> read = new FutureTask<>(() -> {
            if (cfg.loadNice() > 0) {
                ThreadNice.lowerCurrentThread(cfg.loadNice())
                        .ifPresent(why -> log.accept("reading weights at normal priority: " + why));
            }
            ModelWeights w = CheckpointLoader.load(plan.dir(), plan.config(), plan.range(), progress);
            if (cfg.weights().equals("copy") && !cfg.backend().equals("cuda")) {
                w = ResidentWeights.copyOf(w, log);
            }
            return w;
        });
        Thread.ofPlatform().name("weights-" + plan.range().start() + "-" + plan.range().end()).daemon().start(read);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return read.get();
                } catch (InterruptedException e) {
                    interrupted = true;                 // finish the read so that its memory is not left behind
                }
            }
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                default -> throw new IllegalStateException(e.getCause().toString(), e.getCause());
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** Moves the weights to the backend before the first step (a GPU uploads them), logging progress. */
    private static void prepare(Kernels kernels, ModelWeights weights, Consumer<String> log) {
        long[] last = {System.nanoTime()};
        long start = last[0];
        kernels.prepare(weights, bytes -> {
            if (System.nanoTime() - last[0] > 1_000_000_000L) {
                last[0] = System.nanoTime();
                log.accept(String.format("uploading weights to %s: %.2f GB", kernels.name(), bytes / 1e9));
            }
        });
        if (!kernels.name().equals("cpu") && !kernels.name().equals("reference")) {
            log.accept(String.format("weights on %s after %.1f s", kernels.name(), (System.nanoTime() - start) / 1e9));
        }
    }

    /** Whether these are the layers the plan asks for: the same model (directory and fingerprint) and layer range. */
    boolean holds(AssignmentPlan plan) {
        return dir.equals(plan.dir().toAbsolutePath().normalize()) && fingerprint.equals(plan.fingerprint())
                && range.equals(plan.range());
    }

    /** The KV cache: on a cuda backend in its KV element type (bf16 by default), else f32 in the kernels' memory. */
    private static KvCache kvCache(Kernels kernels, CudaKernels cuda, ModelConfig config, LayerRange range,
                                   int kvBlocks, int blockSize) {
        return cuda != null ? KvCache.allocate(cuda::allocateKv, config, range, kvBlocks, blockSize)
                : KvCache.allocate(kernels, config, range, kvBlocks, blockSize);
    }

    /**
     * Makes the KV cache {@code kvBlocks x blockSize} tokens; returns false when it already was (its contents are
     * stale, which is harmless: every sequence writes a position before it reads it).
     */
    boolean ensureKv(int kvBlocks, int blockSize) {
        if (cache.numBlocks() == kvBlocks && cache.blockSize() == blockSize) {
            return false;
        }
        cache.close();
        cache = kvCache(kernels, cuda, loadedFor.config(), range, kvBlocks, blockSize);
        return true;
    }

    Qwen2Forward forward() {
        return forward;
    }

    KvCache cache() {
        return cache;
    }

    /** The device's sampler (backend cuda, narrowed by {@code cuda-sampling}), or null: the host samples every token. */
    DeviceSampler deviceSampler() {
        return sampler;
    }

    LayerRange range() {
        return range;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        forward.close();
        release(cache, kernels, weights);
    }

    private static void release(AutoCloseable... resources) {
        for (AutoCloseable c : resources) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the rest must still be released
            }
        }
    }
}
