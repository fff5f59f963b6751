package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.ModelFingerprint;

import dev.shardline.proto.stage.v1.ControlPlaneGrpc;
import dev.shardline.proto.stage.v1.HeartbeatResponse;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.RegisterResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A worker's side of the control plane: registration (retried with backoff while the coordinator is not up yet)
 * and a daemon heartbeat thread that reports state and load every {@code heartbeat_interval_ms} and carries out
 * the coordinator's commands (register again, reload, drain). An unreachable coordinator is logged once per change.
 */
final class CoordinatorSession implements AutoCloseable {
    private static final long MIN_BACKOFF_MS = 250;
    private static final long MAX_BACKOFF_MS = 2000;

    private final String coordinator;
    private final RegisterRequest registration;
    private final StageRuntime runtime;
    private final Consumer<String> log;
    private final ManagedChannel channel;
    private final ControlPlaneGrpc.ControlPlaneBlockingStub stub;
    private volatile int intervalMs = 1000;
    private volatile boolean closed;
    private Thread heartbeats;

    CoordinatorSession(String coordinator, RegisterRequest registration, StageRuntime runtime, Consumer<String> log) {
        this.coordinator = coordinator;
        this.registration = registration;
        this.runtime = runtime;
        this.log = log;
        this.channel = Channels.open(coordinator);
        this.stub = ControlPlaneGrpc.newBlockingStub(channel);
    }

    /** Registers, retrying for up to patience while the coordinator is unreachable. */
    RegisterResponse register(Duration patience) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        long backoff = MIN_BACKOFF_MS;
        for (int attempt = 1; ; attempt++) {
            try {
                RegisterResponse r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).register(registration);
                if (!r.getAccepted()) {
                    throw new WorkerStartException("the coordinator at " + coordinator + " rejected worker "
                            + registration.getWorkerId() + ": " + r.getReason());
                }
                accept(r);
                return r;
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED) {
                    throw new WorkerStartException("registering with the coordinator at " + coordinator + " failed: "
                            + e.getStatus(), e);
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    throw new WorkerStartException("the coordinator at " + coordinator + " stayed unreachable for "
                            + patience.toSeconds() + " s (" + code + "); is it running?", e);
                }
                long wait = Math.min(backoff, left);
                log.accept(String.format(Locale.ROOT, "coordinator at %s not reachable yet (%s), attempt %d; "
                        + "retrying in %.1f s", coordinator, code, attempt, wait / 1000.0));
                Thread.sleep(wait);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            }
        }
    }

    private void accept(RegisterResponse r) {
        intervalMs = r.getHeartbeatIntervalMs() > 0 ? r.getHeartbeatIntervalMs() : 1000;
        log.accept("registered with the coordinator at " + coordinator + " as " + registration.getWorkerId()
                + " (model " + ModelFingerprint.shortForm(registration.getModelFingerprint()) + ", heartbeat every "
                + intervalMs + " ms)");
    }

    /** Starts the heartbeat thread; onDrain runs when a drain has finished. */
    void startHeartbeats(Runnable onDrained) {
        heartbeats = Thread.ofPlatform().name("shardline-heartbeat-" + registration.getWorkerId()).daemon(true)
                .start(() -> heartbeatLoop(onDrained));
    }

    private void heartbeatLoop(Runnable onDrained) {
        boolean reachable = true;
        while (!closed) {
            try {
                Thread.sleep(intervalMs);
            } catch (InterruptedException e) {
                return;
            }
            try {
                HeartbeatResponse r = stub.withDeadlineAfter(Math.max(2000, 2L * intervalMs), TimeUnit.MILLISECONDS)
                        .heartbeat(runtime.heartbeat());
                if (!reachable) {
                    log.accept("the coordinator at " + coordinator + " is reachable again");
                    reachable = true;
                }
                switch (r.getCommand()) {
                    case WORKER_COMMAND_REGISTER -> reRegister(r.getReason());
                    case WORKER_COMMAND_RELOAD -> runtime.unassign("the coordinator asked to reload: " + r.getReason());
                    case WORKER_COMMAND_DRAIN -> {
                        if (runtime.state() != dev.shardline.proto.stage.v1.WorkerState.WORKER_STATE_DRAINING) {
                            runtime.drain(r.getReason(), onDrained);
                        }
                    }
                    default -> { }
                }
            } catch (StatusRuntimeException e) {
                if (closed) return;
                if (reachable) {
                    log.accept("the coordinator at " + coordinator + " is unreachable (" + e.getStatus().getCode()
                            + "); heartbeats go on");
                    reachable = false;
                }
            }
        }
    }

    private void reRegister(String reason) {
        log.accept("the coordinator asks to register again" + (reason.isEmpty() ? "" : ": " + reason));
        try {
            RegisterResponse r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).register(registration);
            if (r.getAccepted()) {
                accept(r);
            } else {
                log.accept("the coordinator rejected the registration: " + r.getReason());
            }
        } catch (StatusRuntimeException e) {
            log.accept("registering again failed (" + e.getStatus().getCode() + "); the next heartbeat will tell");
        }
    }

    @Override
    public void close() {
        closed = true;
        if (heartbeats != null) {
            heartbeats.interrupt();
            try {
                heartbeats.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Channels.close(channel);
    }
}
