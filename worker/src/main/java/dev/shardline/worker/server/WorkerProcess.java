package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.ModelFingerprint;

import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.WorkerState;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.cuda.CudaBackend;
import dev.shardline.worker.cuda.CudaUnavailableException;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A running worker: the {@code shardline.stage.v1.Stage} gRPC server on {@code host:port}, its stage (one compute
 * thread; weights, kernels and KV cache once assigned) and its session with the coordinator (registration, then
 * heartbeats). {@link #start} returns once the worker is registered; {@link #close} stops everything. The
 * coordinator then drives it: Assign, Forward, FreeSequences, GetStageStatus, and the commands its heartbeats
 * answer. {@link #requestDrain} is the polite way to stop (SIGTERM): the coordinator moves the work elsewhere, then
 * answers DRAIN, and the worker stops.
 */
public final class WorkerProcess implements AutoCloseable {
    /** How long {@link #start} keeps trying to reach the coordinator. */
    public static final Duration REGISTER_PATIENCE = Duration.ofSeconds(30);

    private final String workerId;
    private final String address;
    private final String fingerprint;
    private final Server server;
    private final StageRuntime runtime;
    private final CoordinatorSession session;
    private final Consumer<String> log;
    private final long drainTimeoutMs;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean drainRequested = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile String failure;

    private WorkerProcess(String workerId, String address, String fingerprint, Server server, StageRuntime runtime,
                          CoordinatorSession session, Consumer<String> log, long drainTimeoutMs) {
        this.workerId = workerId;
        this.address = address;
        this.fingerprint = fingerprint;
        this.server = server;
        this.runtime = runtime;
        this.session = session;
        this.log = log;
        this.drainTimeoutMs = drainTimeoutMs;
    }

    /**
     * Fingerprints the model, starts the Stage server on cfg.host:cfg.port (0 = a free port) and registers with
     * the coordinator, retrying for {@link #REGISTER_PATIENCE}.
     *
     * @throws WorkerStartException when backend cuda has no usable GPU (quoting the driver), the model cannot be read, the port cannot be bound, or the coordinator
     *                              stays unreachable or rejects the worker
     */
    public static WorkerProcess start(WorkerConfig cfg, Consumer<String> log) {
        return start(cfg, log, REGISTER_PATIENCE);
    }

    static WorkerProcess start(WorkerConfig cfg, Consumer<String> log, Duration registerPatience) {
        if (cfg.backend().equals("cuda")) {
            try {
                log.accept("backend cuda: " + CudaBackend.requireUsable(cfg.cuda().device(), cfg.cuda().debugSync()));
            } catch (CudaUnavailableException e) {
                throw new WorkerStartException(e.getMessage(), e);
            }
        }
        String fingerprint;
        try {
            fingerprint = ModelFingerprint.of(cfg.model());
        } catch (RuntimeException e) {
            throw new WorkerStartException("cannot read the model at " + cfg.model() + ": " + e.getMessage(), e);
        }
        StageService service = new StageService();
        StageHealth health = new StageHealth();
        Server server;
        try {
            server = NettyServerBuilder.forAddress(new InetSocketAddress(cfg.host(), cfg.port()))
                    .maxInboundMessageSize(AssignmentPlan.INBOUND_LIMIT)
                    .callExecutor(Channels.activationsOnTransportThread())
                    .addService(service)
                    .addService(health)
                    .build()
                    .start();
        } catch (IOException e) {
            throw new WorkerStartException("cannot listen on " + cfg.host() + ":" + cfg.port() + ": " + e.getMessage(), e);
        }
        int port = server.getPort();
        String id = cfg.workerId();
        String address = advertised(cfg.host()) + ":" + port;
        StageRuntime runtime = new StageRuntime(id, cfg, fingerprint, log);
        runtime.start();
        service.attach(runtime);
        health.attach(runtime);
        RegisterRequest identity = RegisterRequest.newBuilder()
                .setWorkerId(id)
                .setAddress(address)
                .setBackend(cfg.backend())
                .setThreads(cfg.threadsOrDefault())
                .setMemoryBudgetBytes(cfg.memoryBudgetBytes())
                .setModelFingerprint(fingerprint)
                .addActivationDtypes(ActivationDtype.ACTIVATION_DTYPE_BF16)
                .addActivationDtypes(ActivationDtype.ACTIVATION_DTYPE_F32)
                .setRelativeSpeed(1.0)
                .setKvBytesPerElement(cfg.kvElementBytes())
                .build();
        CoordinatorSession session = new CoordinatorSession(cfg.coordinator(), identity, runtime, log);
        try {
            session.register(registerPatience);
        } catch (RuntimeException | InterruptedException e) {
            session.close();
            runtime.close();
            server.shutdownNow();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                throw new WorkerStartException("interrupted while registering with " + cfg.coordinator(), e);
            }
            throw e instanceof WorkerStartException w ? w : new WorkerStartException(e.getMessage(), e);
        }
        WorkerProcess process = new WorkerProcess(id, address, fingerprint, server, runtime, session, log,
                cfg.drainTimeoutMs());
        session.startHeartbeats(process::close);
        runtime.onBackendFailed(process::stopAfterBackendFailure);
        return process;
    }

    /**
     * The backend failed for good (the runtime already left the pipeline): the heartbeat reporting
     * WORKER_STATE_FAILED gets a second to go out, then the worker stops; {@link #failure()} tells why.
     */
    private void stopAfterBackendFailure(String why) {
        failure = why;
        session.beatNow();
        Thread.ofPlatform().name("shardline-backend-failed-" + workerId).daemon(true).start(() -> {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            close();
        });
    }

    /** Why the worker stopped on its own (a backend that failed for good, e.g. a sticky CUDA error), or null. */
    public String failure() {
        return failure;
    }

    /** The address it advertises: the configured host, or this machine's address when bound to a wildcard. */
    private static String advertised(String host) {
        if (!host.equals("0.0.0.0") && !host.equals("::") && !host.equals("[::]")) {
            return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        }
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException e) {
            return "127.0.0.1";
        }
    }

    public String workerId() {
        return workerId;
    }

    /** The port the Stage server is bound to. */
    public int port() {
        return server.getPort();
    }

    /** host:port as registered with the coordinator. */
    public String address() {
        return address;
    }

    /** The model fingerprint it registered (see {@link ModelFingerprint}). */
    public String modelFingerprint() {
        return fingerprint;
    }

    public WorkerState state() {
        return runtime.state();
    }

    StageRuntime runtime() {
        return runtime;
    }

    /** Times this process loaded weights; an Assign that reused the layers it held does not count. */
    public long weightLoads() {
        return runtime.weightLoads();
    }

    /**
     * Asks the coordinator to drain this worker (what SIGTERM does): the next heartbeat goes out at once with
     * {@code drain_requested}, and so do all later ones; the coordinator stops giving the worker's pipeline new
     * sequences, lets running ones finish or moves them, then answers DRAIN, and the worker finishes its in-flight
     * micro-batches and stops. It stops anyway, logging why, when the coordinator does not answer the heartbeat, or
     * has not finished the drain within {@code drain-timeout-ms}. Idempotent; returns at once.
     */
    public void requestDrain() {
        if (!drainRequested.compareAndSet(false, true) || closed.get()) {
            return;
        }
        log.accept("asking the coordinator to drain worker " + workerId + " (stopping anyway after " + drainTimeoutMs
                + " ms)");
        session.requestDrain();
        Thread.ofPlatform().name("shardline-drain-timeout-" + workerId).daemon(true).start(() -> {
            try {
                if (!stopped.await(drainTimeoutMs, TimeUnit.MILLISECONDS)) {
                    log.accept("the drain did not finish within drain-timeout-ms " + drainTimeoutMs + ": stopping");
                    close();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Blocks until the worker stopped ({@link #close}, or the end of a drain). */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops heartbeats, ends streams, releases kernels, KV cache and weights, and shuts the server down. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        session.close();
        runtime.close();
        server.shutdown();
        try {
            if (!server.awaitTermination(3, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        log.accept("worker " + workerId + " stopped");
        stopped.countDown();
    }
}
