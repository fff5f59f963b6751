package dev.shardline.worker.server;

import dev.shardline.model.weights.ResidentWeights;

import dev.shardline.model.checkpoint.CheckpointLoader;
import dev.shardline.model.checkpoint.LoadProgress;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.kernels.Backends;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.ModelWeights;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.cuda.CudaBackend;
import dev.shardline.worker.stage.StageExecutor;
import io.grpc.Status;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * Everything one assignment holds: its mapped weights, kernels, KV cache, the executor over them, the link
 * downstream (next stage, or the coordinator from the last stage) and its counters. Closing releases all of it.
 */
final class ActiveStage implements AutoCloseable {
    /** How long an Assign waits for the next stage to accept a Forward stream (it may be assigned later). */
    static final Duration NEXT_STAGE_PATIENCE = Duration.ofSeconds(60);

    final AssignmentPlan plan;
    final StageExecutor executor;
    final StageLink next;        // null on the last stage
    final ResultLink results;    // null except on the last stage
    final StageStats stats = new StageStats();
    final SequenceBook book = new SequenceBook();
    private final ModelWeights weights;
    private final Kernels kernels;

    private ActiveStage(AssignmentPlan plan, ModelWeights weights, Kernels kernels, StageExecutor executor,
                        StageLink next, ResultLink results) {
        this.plan = plan;
        this.weights = weights;
        this.kernels = kernels;
        this.executor = executor;
        this.next = next;
        this.results = results;
    }

    /** Maps the range's weights, creates kernels and KV cache, and connects downstream. */
    static ActiveStage load(AssignmentPlan plan, WorkerConfig cfg, Consumer<LoadProgress> progress,
                            Consumer<String> log) throws AssignException, InterruptedException {
        ModelWeights weights = null;
        Kernels kernels = null;
        StageLink next = null;
        ResultLink results = null;
        LayerAssignment a = plan.assignment();
        try {
            weights = CheckpointLoader.load(plan.dir(), plan.config(), plan.range(), progress);
            if (cfg.weights().equals("copy") && !cfg.backend().equals("cuda")) {   // a GPU uploads from the mapping
                weights = ResidentWeights.copyOf(weights, log);
            }
            kernels = cfg.backend().equals("cuda") ? CudaBackend.create(cfg.threadsOrDefault())
                    : Backends.create(cfg.backend(), cfg.threadsOrDefault());
            if (kernels instanceof VectorKernels vector) {
                vector.warmUp();
            }
            prepare(kernels, weights, log);
            KvCache cache = KvCache.allocate(kernels, plan.config(), plan.range(), a.getKvBlocks(), a.getBlockSize());
            StageExecutor executor = new StageExecutor(new Qwen2Forward(weights, kernels), cache, plan.vocabLimit());
            long warm = System.nanoTime();
            executor.warmUp();
            log.accept(String.format("warmed up the forward pass in %.1f s", (System.nanoTime() - warm) / 1e9));
            if (plan.last()) {
                results = ResultLink.open(plan.coordinatorAddress(), log);
            } else {
                next = StageLink.connect(a.getNextStageAddress(), NEXT_STAGE_PATIENCE, log);
            }
            return new ActiveStage(plan, weights, kernels, executor, next, results);
        } catch (LinkException e) {
            release(weights, kernels, null, results);
            throw new AssignException(Status.Code.UNAVAILABLE, "LayerAssignment.next_stage_address: " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            release(weights, kernels, next, results);
            throw new AssignException(Status.Code.RESOURCE_EXHAUSTED, "out of memory while loading " + plan.range()
                    + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            release(weights, kernels, next, results);
            throw e;
        } catch (RuntimeException e) {
            release(weights, kernels, next, results);
            throw new AssignException(Status.Code.FAILED_PRECONDITION, "loading " + plan.range() + " from "
                    + plan.dir() + " failed: " + e.getMessage(), e);
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

    LayerAssignment assignment() {
        return plan.assignment();
    }

    int stageIndex() {
        return plan.assignment().getStageIndex();
    }

    boolean first() {
        return plan.range().embedding();
    }

    boolean last() {
        return plan.range().head();
    }

    /** Why this stage does not run a micro-batch of that header (another pipeline or plan epoch), or null. */
    String refusal(MicroBatchHeader h) {
        LayerAssignment a = plan.assignment();
        if (h.getPipelineId() != a.getPipelineId() || h.getPlanEpoch() != a.getPlanEpoch()) {
            return "step " + h.getStepId() + " is for pipeline " + h.getPipelineId() + " epoch " + h.getPlanEpoch()
                    + ", this stage serves pipeline " + a.getPipelineId() + " epoch " + a.getPlanEpoch();
        }
        return null;
    }

    @Override
    public void close() {
        executor.close();
        release(weights, kernels, next, results);
    }

    private static void release(ModelWeights weights, Kernels kernels, StageLink next, ResultLink results) {
        for (AutoCloseable c : new AutoCloseable[]{next, results, kernels, weights}) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the rest must still be released
            }
        }
    }
}
