package dev.shardline.coordinator.server;

import dev.shardline.coordinator.api.InferenceService;
import dev.shardline.coordinator.api.ServedModel;
import dev.shardline.coordinator.cluster.Cluster;
import dev.shardline.coordinator.cluster.ControlPlaneService;
import dev.shardline.coordinator.cluster.WorkerRegistry;
import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.model.checkpoint.ModelFingerprint;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The coordinator process: one gRPC server for clients ({@code shardline.v1.Inference}, health, reflection) and
 * workers ({@code ControlPlane}). {@link #start} binds the port at once; {@link #awaitCluster} then waits for the
 * workers, plans and assigns the layers, and flips health to SERVING.
 */
public final class CoordinatorProcess implements AutoCloseable {
    private final CoordinatorConfig config;
    private final ServedModel model;
    private final WorkerRegistry registry;
    private final ControlPlaneService controlPlane;
    private final InferenceService inference;
    private final HealthStatusManager health = new HealthStatusManager();
    private final Server server;
    private final Consumer<String> log;
    private volatile Cluster cluster;

    private CoordinatorProcess(CoordinatorConfig config, ServedModel model, String fingerprint, Consumer<String> log) {
        this.config = config;
        this.model = model;
        this.log = log;
        this.registry = new WorkerRegistry(fingerprint);
        this.controlPlane = new ControlPlaneService(registry, config.heartbeatMs(), log);
        this.inference = new InferenceService(model, registry);
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port()))
                .maxInboundMessageSize(config.maxMessageBytes() + (1 << 20))
                .callExecutor(resultsOnTransportThread())
                .addService(inference).addService(controlPlane).addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance()).build();
    }

    /**
     * The last stages' result streams run their handlers (hand the sampled tokens to the pipeline, a few
     * microseconds under its lock) on the transport thread, one thread hand-off less per token; every other call
     * keeps gRPC's default executor.
     */
    private static io.grpc.ServerCallExecutorSupplier resultsOnTransportThread() {
        java.util.concurrent.Executor direct = Runnable::run;
        String results = dev.shardline.proto.stage.v1.ControlPlaneGrpc.getReportResultsMethod().getFullMethodName();
        return new io.grpc.ServerCallExecutorSupplier() {
            @Override
            public <ReqT, RespT> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<ReqT, RespT> call,
                                                                          io.grpc.Metadata headers) {
                return call.getMethodDescriptor().getFullMethodName().equals(results) ? direct : null;
            }
        };
    }

    /** Loads the tokenizer and config (no weights) and binds the port. */
    public static CoordinatorProcess start(CoordinatorConfig config, Consumer<String> log) {
        ServedModel model = ServedModel.open(config.modelId(), config.model());
        String fingerprint = ModelFingerprint.of(config.model());
        CoordinatorProcess p = new CoordinatorProcess(config, model, fingerprint, log);
        try {
            p.server.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        p.health.setStatus("", ServingStatus.NOT_SERVING);
        log.accept("coordinator listening on " + p.address() + " (model " + model.id() + ", waiting for "
                + config.workers() + " worker(s))");
        return p;
    }

    public int port() {
        return server.getPort();
    }

    public String address() {
        return config.host() + ":" + port();
    }

    public WorkerRegistry registry() {
        return registry;
    }

    public ServedModel model() {
        return model;
    }

    public Cluster cluster() {
        return cluster;
    }

    /** Waits for the workers, plans and assigns; the API serves generation afterwards. */
    public Cluster awaitCluster(long waitMillis) throws InterruptedException {
        Cluster c = Cluster.start(config, model.config(), registry, controlPlane, address(), model.sampleVocabLimit(),
                waitMillis, log);
        cluster = c;
        inference.ready(c);
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus("shardline.v1.Inference", ServingStatus.SERVING);
        log.accept("cluster ready: serving " + model.id() + " on " + address());
        return c;
    }

    @Override
    public void close() {
        health.enterTerminalState();
        if (cluster != null) {
            cluster.close();
        }
        server.shutdown();
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
