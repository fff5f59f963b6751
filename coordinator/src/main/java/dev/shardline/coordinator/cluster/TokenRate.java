package dev.shardline.coordinator.cluster;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Tokens (prompt + generated) processed per second over a sliding window, whole cluster and per working pipeline,
 * from samples of a life-time token counter taken whenever the status is read (ADR 0010). Pure: the caller passes
 * the time, the counter and the pipelines working at that moment.
 *
 * <p>The window starts at the newest sample at or before {@code now - window} (or the oldest sample), so reads
 * further apart than the window give the rate since the previous read. Per pipeline, the tokens are divided by the
 * pipeline-seconds of the window, each interval between two samples counted with the larger of its two ends'
 * pipeline counts (a pipeline that worked during part of an interval counts for all of it: the figure errs low,
 * which makes an autoscaler err towards more pipelines).
 */
public final class TokenRate {
    /** The rates at one moment; zero while the window holds no time or no pipeline worked in it. */
    public record Rates(double tokensPerSecond, double tokensPerSecondPerPipeline) {
        public static final Rates NONE = new Rates(0, 0);
    }

    private record Sample(long atMs, long tokens, int pipelines) {
    }

    private final long windowMs;
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();

    public TokenRate(long windowMs) {
        if (windowMs <= 0) throw new IllegalArgumentException("windowMs must be positive, not " + windowMs);
        this.windowMs = windowMs;
    }

    /**
     * Records a sample and returns the rates over the window ending now.
     *
     * @param nowMs     a monotonic clock in milliseconds
     * @param tokens    the life-time token counter (never decreases)
     * @param pipelines pipelines processing tokens now (serving or draining)
     */
    public synchronized Rates sample(long nowMs, long tokens, int pipelines) {
        Sample last = samples.peekLast();
        if (last != null && (nowMs < last.atMs() || tokens < last.tokens())) {
            throw new IllegalArgumentException("samples go forward: " + nowMs + " ms / " + tokens + " tokens after "
                    + last.atMs() + " ms / " + last.tokens() + " tokens");
        }
        if (last != null && last.atMs() == nowMs) samples.pollLast();
        samples.addLast(new Sample(nowMs, tokens, pipelines));
        while (samples.size() > 2 && second().atMs() <= nowMs - windowMs) samples.pollFirst();
        Sample first = samples.peekFirst();
        if (nowMs == first.atMs()) return Rates.NONE;
        double seconds = (nowMs - first.atMs()) / 1000.0;
        double pipelineSeconds = 0;
        Sample previous = null;
        for (Sample s : samples) {
            if (previous != null) {
                pipelineSeconds += (s.atMs() - previous.atMs()) / 1000.0 * Math.max(previous.pipelines(), s.pipelines());
            }
            previous = s;
        }
        long processed = tokens - first.tokens();
        return new Rates(processed / seconds, pipelineSeconds == 0 ? 0 : processed / pipelineSeconds);
    }

    private Sample second() {
        Iterator<Sample> it = samples.iterator();
        it.next();
        return it.next();
    }
}
