package dev.shardline.coordinator.cluster;

import dev.shardline.proto.stage.v1.HeartbeatRequest;
import dev.shardline.proto.stage.v1.RegisterRequest;

/** A worker as the coordinator knows it: what it offered at registration and when it was last heard from. */
public final class RegisteredWorker {
    private final RegisterRequest offer;
    private volatile long lastHeardNanos = System.nanoTime();
    private volatile HeartbeatRequest lastHeartbeat;
    private volatile boolean lost;

    RegisteredWorker(RegisterRequest offer) {
        this.offer = offer;
    }

    public String id() {
        return offer.getWorkerId();
    }

    public String address() {
        return offer.getAddress();
    }

    public RegisterRequest offer() {
        return offer;
    }

    public long lastHeardAgeMillis() {
        return (System.nanoTime() - lastHeardNanos) / 1_000_000;
    }

    public HeartbeatRequest lastHeartbeat() {
        return lastHeartbeat;
    }

    public boolean lost() {
        return lost;
    }

    void heard(HeartbeatRequest hb) {
        lastHeardNanos = System.nanoTime();
        lastHeartbeat = hb;
        lost = false;
    }

    void markLost() {
        lost = true;
    }
}
