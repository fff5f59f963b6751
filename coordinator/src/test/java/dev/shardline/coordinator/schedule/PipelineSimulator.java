package dev.shardline.coordinator.schedule;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Drives a real {@link Scheduler} through a simulated pipeline on a virtual clock: each stage works on one
 * micro-batch at a time, taking {@code fixed + perRow x rows} milliseconds, micro-batches flow stage by stage in
 * order, and the last stage's result returns to the scheduler after a hop. Deterministic; no threads, no sleeping.
 * What it tells: when each sequence got each token, for a given scheduling policy and cost shape.
 */
final class PipelineSimulator {
    private final Scheduler scheduler;
    private final double fixedMs;
    private final double perRowMs;
    private final double hopMs;
    private final double[] stageFreeAt;
    private final Map<Long, List<Double>> tokenTimes = new HashMap<>();
    private final List<Double> due = new ArrayList<>();           // result arrival times, parallel to pending
    private final List<MicroBatch> pending = new ArrayList<>();
    private double now;

    PipelineSimulator(SchedulerConfig cfg, double fixedMs, double perRowMs, double hopMs) {
        this.scheduler = new Scheduler(cfg, new SchedulerListener() {
            @Override
            public void onToken(long sequenceId, int tokenId, float logprob, int index) {
                tokenTimes.computeIfAbsent(sequenceId, k -> new ArrayList<>()).add(now);
            }
        }, StopPolicy.NONE);
        this.fixedMs = fixedMs;
        this.perRowMs = perRowMs;
        this.hopMs = hopMs;
        this.stageFreeAt = new double[cfg.stages()];
    }

    Scheduler scheduler() {
        return scheduler;
    }

    double now() {
        return now;
    }

    /** Token arrival times (virtual ms) of a sequence. */
    List<Double> tokenTimes(long sequenceId) {
        return tokenTimes.getOrDefault(sequenceId, List.of());
    }

    /** Sends what the scheduler has, then advances to the next result and delivers it; false when idle. */
    boolean step() {
        for (Optional<MicroBatch> mb = scheduler.nextMicroBatch(); mb.isPresent(); mb = scheduler.nextMicroBatch()) {
            double t = now;
            int rows = mb.get().entries().stream().mapToInt(BatchEntry::rows).sum();
            for (int i = 0; i < stageFreeAt.length; i++) {
                double start = Math.max(t + (i == 0 ? 0 : hopMs), stageFreeAt[i]);
                stageFreeAt[i] = start + (rows == 0 ? 0 : fixedMs + perRowMs * rows);
                t = stageFreeAt[i];
            }
            pending.add(mb.get());
            due.add(t + hopMs);
        }
        if (pending.isEmpty()) return false;
        int next = 0;
        for (int i = 1; i < due.size(); i++) if (due.get(i) < due.get(next)) next = i;
        now = Math.max(now, due.remove(next));
        MicroBatch mb = pending.remove(next);
        List<SampledTokenResult> results = new ArrayList<>();
        for (BatchEntry e : mb.logitEntries()) results.add(new SampledTokenResult(e.sequenceId(), 7, 0f, List.of()));
        scheduler.onResult(mb.stepId(), results);
        return true;
    }

    /** Runs until the virtual clock passes {@code untilMs} or nothing is left. */
    void runUntil(double untilMs) {
        while (now < untilMs && step()) {
            // advancing
        }
    }

    static int[] prompt(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = 1 + i % 1000;
        return p;
    }
}
