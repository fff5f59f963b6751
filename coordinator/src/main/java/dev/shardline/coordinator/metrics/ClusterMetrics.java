package dev.shardline.coordinator.metrics;

import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.cluster.PipelineStats;
import dev.shardline.coordinator.desired.PipelineState;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.Locale;
import java.util.function.Supplier;

import static dev.shardline.coordinator.metrics.ServingMetrics.PREFIX;

/**
 * The metrics that describe the cluster rather than requests, read at each scrape from one {@link ClusterStatus}
 * (the one the gRPC status call returns): vLLM's running/waiting/KV gauges, and what only Shardline has: pipelines
 * by state, each stage's busy fraction, each pipeline's hop latency, migrations, pipeline life-cycle counters,
 * demand waiting for a pipeline, readiness and the plan epoch.
 */
final class ClusterMetrics {
    private final Supplier<ClusterStatus> source;
    private volatile ClusterStatus now;

    ClusterMetrics(PrometheusRegistry registry, String model, Supplier<ClusterStatus> source) {
        this.source = source;
        gauge(registry, "num_requests_running", "Sequences holding KV blocks on a pipeline", cb ->
                cb.call(now.runningSequences(), model), "model_name");
        gauge(registry, "num_requests_waiting", "Requests queued: on a pipeline, or for a pipeline that can serve them",
                cb -> cb.call(now.queueDepth(), model), "model_name");
        gauge(registry, "kv_cache_usage_perc", "Fraction of the KV blocks in use, over every pipeline (0 to 1)",
                cb -> cb.call(kvUsage(now), model), "model_name");
        gauge(registry, "pipelines", "Pipelines by state", cb -> {
            for (PipelineState s : PipelineState.values()) {
                cb.call(now.pipelines().stream().filter(p -> p.state() == s).count(), s.name().toLowerCase(Locale.ROOT));
            }
        }, "state");
        gauge(registry, "stage_busy_fraction", "Fraction of the pipeline's life its stage spent computing", cb -> {
            for (ClusterStatus.Pipeline p : now.pipelines()) {
                if (p.runner() == null) continue;
                for (int i = 0; i < p.stages().size(); i++) {
                    cb.call(p.runner().stats().busyFraction(i), Integer.toString(p.id()), Integer.toString(i),
                            p.stages().get(i).workerId());
                }
            }
        }, "pipeline_id", "stage", "worker_id");
        gauge(registry, "pipeline_hop_latency_seconds", "Per decode step over the pipeline's life: the round trip "
                + "(coordinator to stage 0, stage to stage, last stage back) minus the stages' compute; hops, stage "
                + "queues and the coordinator", cb -> {
            for (ClusterStatus.Pipeline p : now.pipelines()) {
                if (p.runner() == null) continue;
                PipelineStats.DecodeTotals d = p.runner().stats().decodeTotals();
                if (d.steps() == 0) continue;
                double compute = 0;
                for (double c : d.computeMs()) compute += c;
                cb.call(Math.max(0, d.roundTripMs() - compute) / d.steps() / 1e3, Integer.toString(p.id()));
            }
        }, "pipeline_id");
        gauge(registry, "waiting_for_pipeline_requests", "Requests waiting for a pipeline that can serve them "
                + "(none is up: after a loss, or while scaling up from zero)", cb -> cb.call(now.waitingRequests()));
        gauge(registry, "waiting_for_pipeline_tokens", "Prompt + max tokens of those requests",
                cb -> cb.call(now.waitingTokens()));
        gauge(registry, "pool_workers", "Workers in the pool (in no pipeline)", cb -> cb.call(now.pool().size()));
        gauge(registry, "ready", "1 while a micro-batch went through every stage of a pipeline within the readiness "
                + "window", cb -> cb.call(now.ready() ? 1 : 0));
        gauge(registry, "plan_epoch", "The cluster's plan epoch", cb -> cb.call(now.epoch()));
        counter(registry, "migrations", "Sequences moved to another pipeline, by cause", cb -> {
            cb.call(now.counters().migrationsAfterFailure(), "failure");
            cb.call(now.counters().migrationsAfterDrain(), "drain");
        }, "cause");
        counter(registry, "migration_reprefill_tokens", "Rows migrated sequences prefilled again",
                cb -> cb.call(now.counters().migrationReprefillTokens()));
        counter(registry, "pipelines_formed", "Pipelines formed", cb -> cb.call(now.counters().pipelinesFormed()));
        counter(registry, "pipelines_failed", "Pipelines failed", cb -> cb.call(now.counters().pipelinesFailed()));
        counter(registry, "pipelines_drained", "Pipelines drained", cb -> cb.call(now.counters().pipelinesDrained()));
        counter(registry, "requests_timed_out_waiting", "Requests that found no pipeline within the queue timeout",
                cb -> cb.call(now.counters().requestsTimedOutWaiting()));
        counter(registry, "requests_cancelled_slow_consumer", "Requests cancelled because their consumer fell behind",
                cb -> cb.call(now.counters().requestsCancelledSlowConsumer()));
    }

    /** Takes the status that the next collection reads, and returns it. */
    ClusterStatus refresh() {
        now = source.get();
        return now;
    }

    static double kvUsage(ClusterStatus s) {
        long used = 0;
        long total = 0;
        for (ClusterStatus.Pipeline p : s.pipelines()) {
            if (p.load() == null) continue;
            used += p.load().blocksUsed();
            total += p.load().blocksTotal();
        }
        return total == 0 ? 0 : (double) used / total;
    }

    private void gauge(PrometheusRegistry r, String name, String help,
                       java.util.function.Consumer<GaugeWithCallback.Callback> cb, String... labels) {
        GaugeWithCallback.builder().name(PREFIX + name).help(help).labelNames(labels).callback(c -> {
            if (now != null) cb.accept(c);
        }).register(r);
    }

    private void counter(PrometheusRegistry r, String name, String help,
                         java.util.function.Consumer<CounterWithCallback.Callback> cb, String... labels) {
        CounterWithCallback.builder().name(PREFIX + name).help(help).labelNames(labels).callback(c -> {
            if (now != null) cb.accept(c);
        }).register(r);
    }
}
