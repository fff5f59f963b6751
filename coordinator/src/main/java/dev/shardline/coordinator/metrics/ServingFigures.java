package dev.shardline.coordinator.metrics;

import java.util.Map;

/**
 * The request figures of {@code /metrics} at one moment, for status calls: token counters, finished requests by
 * reason, and the latency histograms summarised.
 *
 * @param finished finished requests by reason (stop, length, abort, error)
 */
public record ServingFigures(long promptTokens, long generationTokens, long preemptions, Map<String, Long> finished,
                             Latency timeToFirstToken, Latency interToken, Latency endToEnd, Latency queueTime) {

    public ServingFigures {
        finished = Map.copyOf(finished);
    }

    /**
     * One latency histogram summarised: how many observations, their mean, and quantiles estimated from the
     * buckets (linear inside a bucket, as Prometheus' histogram_quantile does). All zero with no observation.
     */
    public record Latency(long count, double meanSeconds, double p50Seconds, double p90Seconds, double p99Seconds) {
        static final Latency NONE = new Latency(0, 0, 0, 0, 0);
    }
}
