package dev.shardline.operator.autoscale;

import java.util.ArrayList;
import java.util.List;

/**
 * The autoscaler's memory, as a value: recent recommendations (for the stabilization windows), when it last
 * scaled, and since when the cluster is idle.
 */
public record ScalingState(List<Sample> recent, long lastChangeMs, long idleSinceMs) {
    /** A recommendation at a time. */
    public record Sample(long atMs, int pipelines) {
    }

    public static ScalingState initial() {
        return new ScalingState(List.of(), Long.MIN_VALUE / 2, -1);
    }

    ScalingState with(long nowMs, int recommendation, long keepMs, boolean changed, boolean idle) {
        List<Sample> r = new ArrayList<>();
        for (Sample s : recent) if (nowMs - s.atMs() <= keepMs) r.add(s);
        r.add(new Sample(nowMs, recommendation));
        long idleSince = idle ? (idleSinceMs >= 0 ? idleSinceMs : nowMs) : -1;
        return new ScalingState(List.copyOf(r), changed ? nowMs : lastChangeMs, idleSince);
    }
}
