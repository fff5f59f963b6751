package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.desired.PipelineState;
import dev.shardline.coordinator.plan.PipelinePlan;
import dev.shardline.coordinator.plan.StagePlan;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** One pipeline as the reconciler keeps it (touched only on the reconciler's thread). */
final class PipelineRecord {
    final int id;
    final long epoch;
    final PipelinePlan plan;
    final int kvBlocks;
    final boolean reuse;
    final long formedNanos;
    final Set<String> loading = new HashSet<>();
    volatile PipelineState state = PipelineState.FORMING;
    volatile String reason = "";
    PipelineRunner runner;
    String broken;
    boolean drainAsked;
    boolean evacuating;
    long drainDeadlineNanos;
    long drainMillis;

    PipelineRecord(int id, long epoch, PipelinePlan plan, int kvBlocks, boolean reuse, long now) {
        this.id = id;
        this.epoch = epoch;
        this.plan = plan;
        this.kvBlocks = kvBlocks;
        this.reuse = reuse;
        this.formedNanos = now;
        plan.stages().forEach(s -> loading.add(s.workerId()));
    }

    List<String> workers() {
        return plan.stages().stream().map(StagePlan::workerId).toList();
    }
}
