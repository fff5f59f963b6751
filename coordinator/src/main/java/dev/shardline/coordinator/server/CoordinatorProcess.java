package dev.shardline.coordinator.server;

import dev.shardline.coordinator.cluster.ActivationFormat;
import dev.shardline.coordinator.cluster.ClusterReconciler;
import dev.shardline.coordinator.cluster.ClusterSettings;
import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.cluster.WorkerRegistry;
import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.coordinator.desired.PlanInputs;
import dev.shardline.coordinator.generation.GenerationService;
import dev.shardline.coordinator.generation.GenerationSettings;
import dev.shardline.coordinator.generation.ServedModel;
import dev.shardline.coordinator.grpc.api.AdminAuth;
import dev.shardline.coordinator.grpc.api.AdminGrpcService;
import dev.shardline.coordinator.grpc.api.InferenceGrpcService;
import dev.shardline.coordinator.grpc.stage.ControlPlaneService;
import dev.shardline.coordinator.grpc.stage.GrpcWorkerTransport;
import dev.shardline.coordinator.http.ApiKeys;
import dev.shardline.coordinator.http.HttpApi;
import dev.shardline.coordinator.metrics.ServingMetrics;
import dev.shardline.coordinator.requestlog.RequestLog;
import dev.shardline.coordinator.plan.PlanOptions;
import dev.shardline.model.checkpoint.ModelFingerprint;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.proto.stage.v1.ControlPlaneGrpc;
import dev.shardline.proto.v1.AdminGrpc;
import dev.shardline.proto.v1.InferenceGrpc;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The coordinator process: one gRPC server for clients ({@code shardline.v1.Inference} and {@code Admin}, health,
 * reflection) and workers ({@code ControlPlane}), the cluster reconciler, and the generation service that every
 * front end shares. {@link #start} binds the port and starts the cluster; pipelines form as workers register.
 *
 * <p>Health: the service names "" and {@code shardline.v1.Inference} report readiness (a micro-batch went through
 * every stage of a pipeline within the readiness window); {@code liveness} reports SERVING while the process runs,
 * also with zero pipelines.
 */
public final class CoordinatorProcess implements AutoCloseable {
    public static final String LIVENESS = "liveness";

    private final CoordinatorConfig config;
    private final ServedModel model;
    private final ClusterReconciler cluster;
    private final GenerationService generation;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ScheduledExecutorService healthTimer = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().name("coordinator-health").daemon().unstarted(r));
    private final Server server;
    private final ServingMetrics metrics;
    private final HttpApi http;
    private final dev.shardline.coordinator.batch.BatchRunner batch;      // null without Kafka
    private final dev.shardline.coordinator.batch.BatchStore batchStore;  // null without Kafka
    private final Consumer<String> log;
    private volatile boolean wasReady;

    private CoordinatorProcess(CoordinatorConfig config, ServedModel model, String fingerprint,
                               dev.shardline.model.source.WeightSizes weightSizes, Consumer<String> log) {
        this.config = config;
        this.model = model;
        this.log = log;
        WorkerRegistry registry = new WorkerRegistry(fingerprint, config.workerTimeoutMs(), System::nanoTime);
        PlanInputs plan = new PlanInputs(model.config(), 2, PlanOptions.defaults()
                .withMinKvReserveTokens(config.kvReserveTokens())
                .withKvBytesPerTokenPerLayer(KvCache.bytesPerTokenPerLayer(model.config()))
                .withWeightSizes(weightSizes));   // the real bytes of each layer as stored (quantized GGUF)
        ClusterSettings settings = new ClusterSettings(plan, config.model(), fingerprint, model.sampleVocabLimit(),
                config.blockSize(), config.tokenBudget(), config.maxRunning(), config.kvBlockCap(),
                ActivationFormat.parse(config.activationDtype()), config.maxMessageBytes(), config.workers(),
                config.startupWaitMs(), config.pipelines(), config.queueTimeoutMs(), config.drainTimeoutMs(),
                config.canaryIntervalMs(), config.readinessWindowMs(), config.assignRestMs(), config.maxWaiting());
        this.cluster = new ClusterReconciler(settings, registry, new GrpcWorkerTransport(config.maxMessageBytes()),
                System::nanoTime, log, true);
        this.generation = new GenerationService(model, cluster, new GenerationSettings(config.sinkBufferTokens(),
                config.testHooks(), Duration.ofSeconds(2), config.maxPromptTokens()), System::nanoTime, log);
        this.metrics = new ServingMetrics(model.id(), model.config().maxPositionEmbeddings(), cluster::status);
        generation.observe(metrics);
        if (config.requestLog()) {
            generation.observe(new RequestLog(log));
        }
        this.batchStore = config.batch().enabled() ? new dev.shardline.coordinator.batch.BatchStore(config.batch(),
                () -> System.currentTimeMillis() / 1000, log) : null;
        this.batch = config.batch().enabled() ? new dev.shardline.coordinator.batch.BatchRunner(config.batch(), generation,
                batchStore, log) : null;
        if (batch != null) metrics.addBatchBacklog(batch::backlog);
        this.http = new HttpApi(generation, cluster::ready, metrics::scrape, ApiKeys.load(config.apiKeys(),
                config.apiKeysFile().isBlank() ? null : java.nio.file.Path.of(config.apiKeysFile())),
                new HttpApi.Settings(config.host(), config.httpPort(), config.httpMaxBodyBytes()), log);
        if (batchStore != null) http.withBatches(batchStore);
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port()))
                .maxInboundMessageSize(config.maxMessageBytes() + (1 << 20))
                .callExecutor(resultsOnTransportThread())
                .addService(new InferenceGrpcService(generation, cluster, metrics::figures, metrics::rates, this::batchBacklog))
                .addService(ServerInterceptors.intercept(new AdminGrpcService(cluster,
                        new dev.shardline.coordinator.plan.PipelineSizer(model.id(), plan.model(), plan.bytesPerWeight(), plan.options())), new AdminAuth(config.adminToken())))
                .addService(new ControlPlaneService(cluster, config.heartbeatMs(), log))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance()).build();
    }

    /**
     * The last stages' result streams run their handlers (hand the sampled tokens to the pipeline, a few
     * microseconds under its lock) on the transport thread, one thread hand-off less per token; every other call
     * keeps gRPC's default executor.
     */
    private static io.grpc.ServerCallExecutorSupplier resultsOnTransportThread() {
        java.util.concurrent.Executor direct = Runnable::run;
        String results = ControlPlaneGrpc.getReportResultsMethod().getFullMethodName();
        return new io.grpc.ServerCallExecutorSupplier() {
            @Override
            public <ReqT, RespT> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<ReqT, RespT> call,
                                                                          io.grpc.Metadata headers) {
                return call.getMethodDescriptor().getFullMethodName().equals(results) ? direct : null;
            }
        };
    }

    /** Loads the tokenizer and config (no weights), binds the port and starts the cluster. */
    public static CoordinatorProcess start(CoordinatorConfig config, Consumer<String> log) {
        dev.shardline.model.source.ModelSource source = dev.shardline.model.source.ModelSources.open(config.model());
        ServedModel model = ServedModel.open(config.modelId(), source);
        String fingerprint = source.fingerprint();
        CoordinatorProcess p = new CoordinatorProcess(config, model, fingerprint, source.weightSizes(), log);
        try {
            p.server.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        try {
            if (p.batchStore != null) p.batchStore.start();
            p.http.start();
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        p.health.setStatus(LIVENESS, ServingStatus.SERVING);
        p.health.setStatus(AdminGrpc.SERVICE_NAME, ServingStatus.SERVING);
        p.refreshHealth();
        p.healthTimer.scheduleWithFixedDelay(p::refreshHealth, 200, 200, TimeUnit.MILLISECONDS);
        p.cluster.start(p.address());
        if (p.batch != null) {
            try {
                p.batch.start();
            } catch (RuntimeException e) {
                p.close();
                throw new IllegalStateException("cannot start batch jobs on Kafka " + config.batch().bootstrap() + ": "
                        + e.getMessage(), e);
            }
        }
        log.accept("coordinator listening on " + p.address() + " (gRPC) and " + p.httpUrl() + " (OpenAI HTTP API; model "
                + model.id() + "; the first pipelines form once " + config.workers() + " worker(s) registered)");
        return p;
    }

    private void refreshHealth() {
        boolean ready = cluster.ready();
        ServingStatus s = ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.setStatus("", s);
        health.setStatus(InferenceGrpc.SERVICE_NAME, s);
        if (ready != wasReady) {
            wasReady = ready;
            log.accept(ready ? "ready: serving " + model.id() + " on " + address() : "not ready: no pipeline completed a "
                    + "micro-batch within " + config.readinessWindowMs() + " ms");
        }
    }

    public int port() {
        return server.getPort();
    }

    /** The HTTP API's port. */
    public int httpPort() {
        return http.port();
    }

    /** The HTTP API's base URL as clients reach it, e.g. http://127.0.0.1:8000 (OpenAI clients add /v1). */
    public String httpUrl() {
        String h = advertisedHost();
        return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + httpPort();
    }

    /** The Prometheus metrics, as {@code GET /metrics} returns them. */
    public ServingMetrics metrics() {
        return metrics;
    }

    /** host:port as workers and clients reach it. */
    public String address() {
        return advertisedHost() + ":" + port();
    }

    private String advertisedHost() {
        if (!config.advertiseHost().isBlank()) return config.advertiseHost();
        String h = config.host();
        if (!h.equals("0.0.0.0") && !h.equals("::") && !h.equals("[::]")) return h;
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException e) {
            return "127.0.0.1";
        }
    }

    public ServedModel model() {
        return model;
    }

    /** The batch loop, when Kafka is configured. */
    public java.util.Optional<dev.shardline.coordinator.batch.BatchRunner> batch() {
        return java.util.Optional.ofNullable(batch);
    }

    private dev.shardline.coordinator.batch.Backlog batchBacklog() {
        return batch == null ? dev.shardline.coordinator.batch.Backlog.NONE : batch.backlog();
    }

    public ClusterReconciler cluster() {
        return cluster;
    }

    public GenerationService generation() {
        return generation;
    }

    /**
     * Waits until at least {@code pipelines} pipelines serve (or throws after the wait, with the cluster's status).
     */
    public ClusterStatus awaitServing(int pipelines, long waitMillis) throws InterruptedException {
        long deadline = System.nanoTime() + waitMillis * 1_000_000L;
        while (true) {
            ClusterStatus s = cluster.status();
            if (s.serving() >= pipelines) return s;
            if (System.nanoTime() > deadline) {
                StringBuilder why = new StringBuilder();
                for (ClusterStatus.Pipeline p : s.pipelines()) {
                    why.append("; pipeline ").append(p.id()).append(' ').append(p.state()).append(' ')
                            .append(p.stages().stream().map(st -> st.workerId()).toList())
                            .append(p.reason() == null || p.reason().isEmpty() ? "" : " (" + p.reason() + ")");
                }
                for (var w : s.workers()) {
                    why.append("; worker ").append(w.id()).append(w.lost() ? " lost" : "").append(w.assignable() ? "" : " resting")
                            .append(" pipeline ").append(w.pipelineId()).append(" heard ").append(w.lastHeardAgeMillis()).append(" ms ago");
                }
                throw new IllegalStateException(s.serving() + " of " + pipelines + " pipeline(s) serving after "
                        + waitMillis / 1000 + " s; " + s.workers().size() + " worker(s) registered, pool " + s.pool() + why);
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() {
        if (batch != null) batch.close();
        if (batchStore != null) batchStore.close();
        http.close();
        health.enterTerminalState();
        healthTimer.shutdownNow();
        server.shutdown();
        cluster.close();
        generation.close();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
