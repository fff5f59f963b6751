package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.coordinator.plan.PipelinePlan;
import dev.shardline.coordinator.plan.PlanOptions;
import dev.shardline.coordinator.plan.ShardPlan;
import dev.shardline.coordinator.plan.ShardPlanner;
import dev.shardline.coordinator.plan.StagePlan;
import dev.shardline.coordinator.plan.WorkerOffer;
import dev.shardline.coordinator.schedule.SchedulerConfig;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.LoadProgress;
import dev.shardline.proto.stage.v1.StageGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The running cluster: waits for the workers, plans the shards, assigns every stage its layers (last stage first,
 * so each stage's downstream is ready when it connects), starts one {@link PipelineRunner} per pipeline, and
 * watches heartbeats: a lost worker takes its pipeline down, failing that pipeline's requests with a clear error
 * while the other replicas keep serving.
 */
public final class Cluster implements AutoCloseable {
    /** Default cap on KV blocks per pipeline when the config sets none (16 tokens each: 16k tokens). */
    static final int DEFAULT_MAX_KV_BLOCKS = 1024;

    private final ShardPlan plan;
    private final List<PipelineRunner> runners;
    private final List<ManagedChannel> channels;
    private final Map<String, Integer> pipelineOfWorker;
    private final Thread watchdog;
    private final int kvBlocks;
    private volatile boolean closed;

    private Cluster(ShardPlan plan, List<PipelineRunner> runners, List<ManagedChannel> channels,
                    Map<String, Integer> pipelineOfWorker, WorkerRegistry registry, int timeoutMs, int kvBlocks,
                    Consumer<String> log) {
        this.plan = plan;
        this.runners = runners;
        this.channels = channels;
        this.pipelineOfWorker = pipelineOfWorker;
        this.kvBlocks = kvBlocks;
        this.watchdog = Thread.ofPlatform().name("worker-watchdog").daemon().start(() -> {
            while (!closed) {
                try {
                    Thread.sleep(Math.max(50, timeoutMs / 4));
                } catch (InterruptedException e) {
                    return;
                }
                for (RegisteredWorker lost : registry.sweep(timeoutMs)) {
                    Integer p = pipelineOfWorker.get(lost.id());
                    log.accept("worker " + lost.id() + " lost (no heartbeat for " + lost.lastHeardAgeMillis() + " ms)");
                    if (p != null) {
                        runners.get(p).fail("worker " + lost.id() + " (" + lost.address() + ") was lost");
                    }
                }
            }
        });
    }

    public static Cluster start(CoordinatorConfig cfg, ModelConfig model, WorkerRegistry registry,
                                ControlPlaneService controlPlane, String coordinatorAddress, int sampleVocabLimit,
                                long waitMillis, Consumer<String> log) throws InterruptedException {
        log.accept("waiting for " + cfg.workers() + " worker(s) to register ...");
        List<RegisteredWorker> workers = registry.awaitWorkers(cfg.workers(), waitMillis);
        List<WorkerOffer> offers = new ArrayList<>();
        for (RegisteredWorker w : workers) {
            double speed = w.offer().getRelativeSpeed() > 0 ? w.offer().getRelativeSpeed() : 1.0;
            offers.add(new WorkerOffer(w.id(), w.offer().getMemoryBudgetBytes(), speed));
        }
        ShardPlan plan = ShardPlanner.plan(model, 2, offers, PlanOptions.defaults()
                .withMinKvReserveTokens(cfg.kvReserveTokens())
                .withKvBytesPerTokenPerLayer(KvCache.bytesPerTokenPerLayer(model))
                .withReplicas(cfg.replicas()));
        log.accept("shard plan:\n" + plan.describe());

        ActivationDtype dtype = cfg.activationDtype().equals("f32") ? ActivationDtype.ACTIVATION_DTYPE_F32
                : ActivationDtype.ACTIVATION_DTYPE_BF16;
        long epoch = System.currentTimeMillis();
        List<PipelineRunner> runners = new ArrayList<>();
        List<ManagedChannel> channels = new ArrayList<>();
        Map<String, Integer> pipelineOfWorker = new HashMap<>();
        int cap = cfg.maxKvBlocks() > 0 ? cfg.maxKvBlocks() : DEFAULT_MAX_KV_BLOCKS;
        int blocks = 0;
        for (PipelinePlan p : plan.pipelines()) {
            blocks = (int) Math.min(cap, p.kvCapacityTokens() / cfg.blockSize());
            List<StagePlan> stages = p.stages();
            ManagedChannel first = null;
            for (int i = stages.size() - 1; i >= 0; i--) {
                StagePlan s = stages.get(i);
                RegisteredWorker w = registry.get(s.workerId()).orElseThrow();
                ManagedChannel ch = channel(w.address(), cfg.maxMessageBytes());
                channels.add(ch);
                pipelineOfWorker.put(w.id(), p.index());
                String next = i == stages.size() - 1 ? "coordinator" : registry.get(stages.get(i + 1).workerId()).orElseThrow().address();
                LayerAssignment a = LayerAssignment.newBuilder().setPipelineId(p.index()).setPlanEpoch(epoch)
                        .setStageIndex(i).setStageCount(stages.size())
                        .setLayerStart(s.range().start()).setLayerEnd(s.range().end())
                        .setHasEmbedding(s.range().embedding()).setHasHead(s.range().head())
                        .setModelDir(cfg.model().toAbsolutePath().toString())
                        .setModelFingerprint(w.offer().getModelFingerprint())
                        .setKvBlocks(blocks).setBlockSize(cfg.blockSize()).setActivationDtype(dtype)
                        .setMaxMessageBytes(cfg.maxMessageBytes()).setNextStageAddress(next)
                        .setCoordinatorAddress(coordinatorAddress).setSampleVocabLimit(sampleVocabLimit).build();
                assign(w, a, ch, log);
                if (i == 0) first = ch;
            }
            SchedulerConfig sc = new SchedulerConfig(stages.size(), cfg.tokenBudget(), cfg.maxRunning(), blocks,
                    cfg.blockSize(), model.maxPositionEmbeddings());
            PipelineRunner[] self = new PipelineRunner[1];
            StageLink link = new StageLink(first, reason -> self[0].fail(reason));
            PipelineRunner runner = new PipelineRunner(p.index(), epoch, sc, link, dtype, stages.size(), log);
            self[0] = runner;
            controlPlane.onResults(p.index(), runner::onStepResult);
            runner.start();
            runners.add(runner);
            log.accept("pipeline " + p.index() + " ready: " + stages.size() + " stage(s), " + blocks + " KV blocks of "
                    + cfg.blockSize() + " tokens");
        }
        return new Cluster(plan, runners, channels, pipelineOfWorker, registry, cfg.workerTimeoutMs(), blocks, log);
    }

    private static void assign(RegisteredWorker w, LayerAssignment a, ManagedChannel ch, Consumer<String> log) {
        log.accept("assigning layers [" + a.getLayerStart() + ", " + a.getLayerEnd() + ") to " + w.id()
                + (a.getHasEmbedding() ? " +embedding" : "") + (a.getHasHead() ? " +norm+lm_head" : ""));
        Iterator<LoadProgress> it = StageGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.MINUTES).assign(a);
        while (it.hasNext()) {
            LoadProgress p = it.next();
            if (p.hasReady()) {
                log.accept(w.id() + " ready: " + String.format("%.2f GB", p.getReady().getWeightBytes() / 1e9)
                        + " of weights, KV for " + p.getReady().getKvCapacityTokens() + " tokens");
            }
        }
    }

    static ManagedChannel channel(String address, int maxMessageBytes) {
        return NettyChannelBuilder.forTarget(address).usePlaintext().directExecutor()   // ack callbacks are a few lines
                .maxInboundMessageSize(maxMessageBytes + (1 << 20)).build();
    }

    public ShardPlan plan() {
        return plan;
    }

    public List<PipelineRunner> pipelines() {
        return runners;
    }

    public int kvBlocksPerPipeline() {
        return kvBlocks;
    }

    /** The healthy pipeline with the least work, or null when none is up. */
    public PipelineRunner choose() {
        return runners.stream().filter(r -> r.failure() == null).min(Comparator.comparingInt(PipelineRunner::load)).orElse(null);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        watchdog.interrupt();
        runners.forEach(PipelineRunner::close);
        for (ManagedChannel ch : channels) {
            ch.shutdownNow();
        }
    }
}
