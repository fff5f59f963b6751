package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.ModelFingerprint;
import dev.shardline.proto.stage.v1.ControlPlaneGrpc;
import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.HeartbeatResponse;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.RegisterRequest;
import dev.shardline.proto.stage.v1.RegisterResponse;
import dev.shardline.proto.stage.v1.WorkerState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A worker's side of the control plane: registration (retried with backoff while the coordinator is not up yet),
 * then a heartbeat thread that reports state and load every {@code heartbeat_interval_ms} and carries out the
 * coordinator's commands (register again, reload, release, drain).
 *
 * <p>The worker outlives its coordinator: while the coordinator does not answer, the worker keeps its assignment
 * and heartbeats with backoff (250 ms doubling to 2 s, logging once when it goes and once when it answers again);
 * a new coordinator answers REGISTER, and the worker registers again with the assignment it still holds and its
 * weight-load count. A heartbeat goes out at once, without waiting for the interval, when a link breaks
 * ({@code link_error}) or when a drain is requested ({@code drain_requested}, repeated in every later heartbeat).
 */
final class CoordinatorSession implements AutoCloseable {
    static final long MIN_BACKOFF_MS = 250;
    static final long MAX_BACKOFF_MS = 2000;

    private final String coordinator;
    private final RegisterRequest identity;     // the fields of a registration that never change
    private final StageRuntime runtime;
    private final Consumer<String> log;
    private final ManagedChannel channel;
    private final ControlPlaneGrpc.ControlPlaneBlockingStub stub;
    private final Semaphore nudges = new Semaphore(0);
    private volatile int intervalMs = 1000;
    private volatile boolean closed;
    private volatile boolean drainRequested;
    private Thread heartbeats;

    CoordinatorSession(String coordinator, RegisterRequest identity, StageRuntime runtime, Consumer<String> log) {
        this.coordinator = coordinator;
        this.identity = identity;
        this.runtime = runtime;
        this.log = log;
        this.channel = Channels.open(coordinator);
        this.stub = ControlPlaneGrpc.newBlockingStub(channel);
        runtime.onLinkError(this::beatNow);
    }

    /** The registration as of now: the identity, plus the assignment still held and the weight loads so far. */
    RegisterRequest registration() {
        RegisterRequest.Builder r = identity.toBuilder().setWeightLoads(runtime.weightLoads());
        LayerAssignment held = runtime.heldAssignment();
        if (held != null) {
            r.setCurrentAssignment(held);
        }
        return r.build();
    }

    /** Registers, retrying for up to patience while the coordinator is unreachable. */
    RegisterResponse register(Duration patience) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        long backoff = MIN_BACKOFF_MS;
        for (int attempt = 1; ; attempt++) {
            try {
                RegisterResponse r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).register(registration());
                if (!r.getAccepted()) {
                    throw new WorkerStartException("the coordinator at " + coordinator + " rejected worker "
                            + identity.getWorkerId() + ": " + r.getReason());
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
                channel.resetConnectBackoff();   // our backoff paces the attempts, not the channel's (up to 2 min)
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            }
        }
    }

    private void accept(RegisterResponse r) {
        intervalMs = r.getHeartbeatIntervalMs() > 0 ? r.getHeartbeatIntervalMs() : 1000;
        LayerAssignment held = runtime.heldAssignment();
        log.accept("registered with the coordinator at " + coordinator + " as " + identity.getWorkerId()
                + " (model " + ModelFingerprint.shortForm(identity.getModelFingerprint()) + ", heartbeat every "
                + intervalMs + " ms, " + (held == null ? "no layers held" : "holding layers [" + held.getLayerStart()
                + ", " + held.getLayerEnd() + ") of pipeline " + held.getPipelineId() + " epoch " + held.getPlanEpoch())
                + ", weight loads " + runtime.weightLoads() + ")");
    }

    /**
     * Starts the heartbeat thread. stop runs (on a thread of its own) when a drain has finished, and when a
     * requested drain cannot be asked for because the coordinator does not answer.
     */
    void startHeartbeats(Runnable stop) {
        heartbeats = Thread.ofPlatform().name("shardline-heartbeat-" + identity.getWorkerId()).daemon(true)
                .start(() -> heartbeatLoop(stop));
    }

    /** Sends the next heartbeat now instead of at the end of the interval. */
    void beatNow() {
        nudges.release();
    }

    /** From now on every heartbeat asks the coordinator to drain this worker; the first goes out at once. */
    void requestDrain() {
        drainRequested = true;
        beatNow();
    }

    private void heartbeatLoop(Runnable stop) {
        boolean reachable = true;
        long backoff = MIN_BACKOFF_MS;
        while (!closed) {
            try {
                nudges.tryAcquire(reachable ? intervalMs : backoff, TimeUnit.MILLISECONDS);
                nudges.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
            if (closed) return;
            if (!reachable) {
                channel.resetConnectBackoff();
            }
            HeartbeatRequest beat = runtime.heartbeat().toBuilder().setDrainRequested(drainRequested).build();
            HeartbeatResponse r;
            try {
                r = stub.withDeadlineAfter(Math.min(10_000, Math.max(2000, 2L * intervalMs)), TimeUnit.MILLISECONDS)
                        .heartbeat(beat);
            } catch (StatusRuntimeException e) {
                if (closed) return;
                if (reachable) {
                    log.accept("the coordinator at " + coordinator + " is unreachable (" + e.getStatus().getCode()
                            + "); keeping the assignment, heartbeats go on every " + MIN_BACKOFF_MS + " ms to "
                            + MAX_BACKOFF_MS + " ms until it answers");
                    reachable = false;
                    backoff = MIN_BACKOFF_MS;
                } else {
                    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
                }
                if (drainRequested) {
                    log.accept("cannot ask the coordinator at " + coordinator + " for a drain: stopping without one");
                    Thread.ofPlatform().name("shardline-stop-" + identity.getWorkerId()).daemon(true).start(stop);
                    return;
                }
                continue;
            }
            if (!reachable) {
                log.accept("the coordinator at " + coordinator + " is reachable again");
                reachable = true;
            }
            runtime.linkErrorDelivered(beat.getLinkError());
            carryOut(r, stop);
        }
    }

    private void carryOut(HeartbeatResponse r, Runnable stop) {
        switch (r.getCommand()) {
            case WORKER_COMMAND_REGISTER -> reRegister(r.getReason());
            case WORKER_COMMAND_RELOAD -> runtime.unassign("the coordinator asked to reload: " + r.getReason());
            case WORKER_COMMAND_RELEASE -> runtime.release(r.getPlanEpoch(), r.getReason());
            case WORKER_COMMAND_DRAIN -> {
                if (runtime.state() != WorkerState.WORKER_STATE_DRAINING) {
                    runtime.drain(r.getReason(), stop);
                }
            }
            default -> { }
        }
    }

    private void reRegister(String reason) {
        log.accept("the coordinator asks to register again" + (reason.isEmpty() ? "" : ": " + reason));
        try {
            RegisterResponse r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).register(registration());
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
        if (heartbeats != null && heartbeats != Thread.currentThread()) {
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
