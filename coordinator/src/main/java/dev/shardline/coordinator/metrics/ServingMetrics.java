package dev.shardline.coordinator.metrics;

import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.cluster.TokenRate;
import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.GenerationHandle;
import dev.shardline.coordinator.generation.GenerationObserver;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The coordinator's Prometheus metrics, named as vLLM names them with {@code shardline:} in place of {@code vllm:}
 * and with vLLM's histogram buckets, so that dashboards and alerts port by renaming. Request figures come from the
 * generation service (this is a {@link GenerationObserver}: every front end's requests count), cluster figures from
 * the same {@link ClusterStatus} the gRPC status call returns, read at each scrape ({@link ClusterMetrics}).
 * The README lists every name.
 */
public final class ServingMetrics implements GenerationObserver {
    /** Content type of {@link #scrape()}: Prometheus text format 0.0.4. */
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;
    static final String PREFIX = "shardline:";

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final String model;
    private final ClusterMetrics cluster;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Counter preemptions;
    private final Counter finished;
    private final Histogram timeToFirstToken;
    private final Histogram interToken;
    private final Histogram endToEnd;
    private final Histogram queueTime;
    private final Histogram prefillTime;
    private final Histogram decodeTime;
    private final Histogram inferenceTime;
    private final Histogram requestPromptTokens;
    private final Histogram requestGenerationTokens;
    private final TokenRate tokenRate = new TokenRate(RATE_WINDOW_MS);
    private final long startNanos = System.nanoTime();
    private volatile TokenRate.Rates scrapedRates = TokenRate.Rates.NONE;
    /** The window of {@link #rates}: the last minute (ADR 0010). */
    static final long RATE_WINDOW_MS = 60_000;

    /**
     * @param model          the served model's id (the {@code model_name} label)
     * @param contextLength  the model's context (the token-count histograms' largest bucket)
     * @param status         the cluster's status now
     */
    public ServingMetrics(String model, long contextLength, Supplier<ClusterStatus> status) {
        this.model = model;
        promptTokens = counter("prompt_tokens", "Prompt tokens processed (counted when a request's first token comes)");
        generationTokens = counter("generation_tokens", "Tokens generated");
        preemptions = counter("num_preemptions", "Sequences preempted (KV blocks taken back, recomputed later)");
        finished = Counter.builder().name(PREFIX + "request_success")
                .help("Requests finished, by reason: stop, length, abort (client gone, deadline, consumer too slow), "
                        + "error (no pipeline in time, a failed step)")
                .labelNames("model_name", "finished_reason").register(registry);
        timeToFirstToken = histogram("time_to_first_token_seconds", "Time from arrival to the first token",
                VllmBuckets.TIME_TO_FIRST_TOKEN);
        interToken = histogram("inter_token_latency_seconds", "Time between two tokens of a request",
                VllmBuckets.INTER_TOKEN);
        endToEnd = histogram("e2e_request_latency_seconds", "Time from arrival to the end of finished requests",
                VllmBuckets.REQUEST_LATENCY);
        queueTime = histogram("request_queue_time_seconds", "Time from arrival to the first micro-batch",
                VllmBuckets.REQUEST_LATENCY);
        prefillTime = histogram("request_prefill_time_seconds", "Time from the first micro-batch to the first token",
                VllmBuckets.REQUEST_LATENCY);
        decodeTime = histogram("request_decode_time_seconds", "Time from the first token to the end",
                VllmBuckets.REQUEST_LATENCY);
        inferenceTime = histogram("request_inference_time_seconds", "Time from the first micro-batch to the end",
                VllmBuckets.REQUEST_LATENCY);
        double[] tokens = VllmBuckets.oneTwoFive(contextLength);
        requestPromptTokens = histogram("request_prompt_tokens", "Prompt tokens of finished requests", tokens);
        requestGenerationTokens = histogram("request_generation_tokens", "Generated tokens of finished requests", tokens);
        this.cluster = new ClusterMetrics(registry, model, status);
        for (Counter c : new Counter[]{promptTokens, generationTokens, preemptions}) c.labelValues(model);
        for (String reason : new String[]{"stop", "length", "abort", "error"}) finished.labelValues(model, reason);
        for (Histogram h : new Histogram[]{timeToFirstToken, interToken, endToEnd, queueTime, prefillTime, decodeTime,
                inferenceTime, requestPromptTokens, requestGenerationTokens}) {
            h.labelValues(model);                        // every series exists from the start, at zero
        }
        tokenRate.sample(0, 0, 0);                       // the window starts when the coordinator does
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name(PREFIX + "tokens_per_second")
                .help("Tokens (prompt + generated) processed per second over the last minute, whole cluster")
                .labelNames("model_name").callback(cb -> cb.call(scrapedRates.tokensPerSecond(), model)).register(registry);
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name(PREFIX + "tokens_per_second_per_pipeline")
                .help("Tokens processed per second over the last minute per working (serving or draining) pipeline")
                .labelNames("model_name").callback(cb -> cb.call(scrapedRates.tokensPerSecondPerPipeline(), model))
                .register(registry);
    }

    /**
     * The throughput over the last minute, sampled now: the prompt and generation token counters against the
     * pipelines of {@code status} that process tokens (serving or draining). Every status read and scrape is a sample.
     */
    public TokenRate.Rates rates(ClusterStatus status) {
        synchronized (tokenRate) {                       // clock and counters read in the order they are sampled
            long nowMs = (System.nanoTime() - startNanos) / 1_000_000;
            return tokenRate.sample(nowMs, count(promptTokens) + count(generationTokens), status.working());
        }
    }

    private Counter counter(String name, String help) {
        return Counter.builder().name(PREFIX + name).help(help).labelNames("model_name").register(registry);
    }

    private Histogram histogram(String name, String help, double[] bounds) {
        return Histogram.builder().name(PREFIX + name).help(help).labelNames("model_name").classicOnly()
                .classicUpperBounds(bounds).register(registry);
    }

    @Override
    public void onScheduled(GenerationHandle request, long queueNanos) {
        queueTime.labelValues(model).observe(queueNanos / 1e9);
    }

    @Override
    public void onToken(GenerationHandle request, int index, long gapNanos) {
        generationTokens.labelValues(model).inc();
        if (index == 0) {
            promptTokens.labelValues(model).inc(request.promptTokens());
            timeToFirstToken.labelValues(model).observe(gapNanos / 1e9);
        } else {
            interToken.labelValues(model).observe(gapNanos / 1e9);
        }
    }

    @Override
    public void onPreempted(GenerationHandle request) {
        preemptions.labelValues(model).inc();
    }

    @Override
    public void onCompleted(GenerationHandle request, Completion c) {
        finished.labelValues(model, switch (c.finishReason()) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case CANCELLED -> "abort";
        }).inc();
        double queue = c.timings().queueMs() / 1e3;
        double ttft = c.timings().timeToFirstTokenMs() / 1e3;
        double total = c.timings().totalMs() / 1e3;
        endToEnd.labelValues(model).observe(total);
        if (c.usage().completionTokens() > 0) {
            prefillTime.labelValues(model).observe(Math.max(0, ttft - queue));
            decodeTime.labelValues(model).observe(Math.max(0, total - ttft));
        }
        inferenceTime.labelValues(model).observe(Math.max(0, total - queue));
        requestPromptTokens.labelValues(model).observe(c.usage().promptTokens());
        requestGenerationTokens.labelValues(model).observe(c.usage().completionTokens());
    }

    @Override
    public void onFailed(GenerationHandle request, GenerationException error, int generatedTokens) {
        String reason = switch (error) {
            case GenerationException.Cancelled c -> "abort";
            case GenerationException.DeadlineExceeded d -> "abort";
            case GenerationException.ConsumerTooSlow s -> "abort";
            default -> "error";
        };
        finished.labelValues(model, reason).inc();
    }

    /** The request figures now, as the gRPC status carries them. */
    public ServingFigures figures() {
        Map<String, Long> byReason = new TreeMap<>();
        for (CounterSnapshot.CounterDataPointSnapshot d : finished.collect().getDataPoints()) {
            byReason.put(d.getLabels().get("finished_reason"), (long) d.getValue());
        }
        return new ServingFigures(count(promptTokens), count(generationTokens), count(preemptions), byReason,
                latency(timeToFirstToken), latency(interToken), latency(endToEnd), latency(queueTime));
    }

    private static long count(Counter c) {
        return (long) c.collect().getDataPoints().getFirst().getValue();
    }

    private static ServingFigures.Latency latency(Histogram h) {
        HistogramSnapshot.HistogramDataPointSnapshot d = h.collect().getDataPoints().getFirst();
        if (d.getCount() == 0) return ServingFigures.Latency.NONE;
        ClassicHistogramBuckets b = d.getClassicBuckets();
        double[] bounds = new double[b.size()];
        long[] counts = new long[b.size()];
        for (int i = 0; i < b.size(); i++) {
            bounds[i] = b.getUpperBound(i);
            counts[i] = b.getCount(i);
        }
        return new ServingFigures.Latency(d.getCount(), d.getSum() / d.getCount(),
                BucketQuantiles.quantile(bounds, counts, 0.5), BucketQuantiles.quantile(bounds, counts, 0.9),
                BucketQuantiles.quantile(bounds, counts, 0.99));
    }

    /**
     * Adds the batch backlog gauges of the whole Kafka consumer group (ADR 0011): {@code shardline:batch_backlog_records}
     * and {@code shardline:batch_backlog_tokens}. Only a coordinator that consumes batch work has them.
     */
    public void addBatchBacklog(Supplier<dev.shardline.coordinator.batch.Backlog> backlog) {
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name(PREFIX + "batch_backlog_records")
                .help("Batch request records past the consumer group's committed offsets (the whole group's lag)")
                .callback(cb -> cb.call(backlog.get().records())).register(registry);
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name(PREFIX + "batch_backlog_tokens")
                .help("Estimated prompt + completion tokens of the batch backlog (exact where producers counted them)")
                .callback(cb -> cb.call(backlog.get().tokens())).register(registry);
    }

    /** Every metric now, in Prometheus text format. */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 << 10);
        synchronized (this) {
            scrapedRates = rates(cluster.refresh());
            try {
                writer.write(out, registry.scrape());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
