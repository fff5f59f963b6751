package dev.shardline.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What clients saw around a fault, from each stream's token arrival times (nanoseconds, one per token) and the
 * moment the fault happened: the pause of every stream that was running across the fault (its longest gap between
 * two tokens from its last token before the fault on: a token the dead stage sent just before it died can arrive
 * after the fault, so the first gap across the fault is not always the pause), and the tokens per second all
 * streams received in equal windows before and after it.
 */
public record FaultFigures(List<Double> pausesMs, double tokensPerSecondBefore, double tokensPerSecondAfter,
                           double windowSeconds) {

    /**
     * @param streams      each stream's token arrival times, in order
     * @param faultNanos   when the fault happened
     * @param windowNanos  length of the throughput windows: [fault - window, fault) and, after the longest pause,
     *                     [fault + longest pause, + window)
     */
    public static FaultFigures of(List<List<Long>> streams, long faultNanos, long windowNanos) {
        List<Double> pauses = new ArrayList<>();
        for (List<Long> times : streams) {
            long before = -1;
            long longest = -1;
            long previous = -1;
            for (long t : times) {
                if (t < faultNanos) {
                    before = t;
                } else if (before >= 0) {
                    longest = Math.max(longest, t - (previous < faultNanos ? before : previous));
                }
                previous = t;
            }
            if (longest >= 0) pauses.add(longest / 1e6);
        }
        pauses.sort(Double::compare);
        long resume = faultNanos + (long) (pauses.isEmpty() ? 0 : pauses.getLast() * 1e6);
        return new FaultFigures(pauses, rate(streams, faultNanos - windowNanos, faultNanos),
                rate(streams, resume, resume + windowNanos), windowNanos / 1e9);
    }

    private static double rate(List<List<Long>> streams, long from, long to) {
        long n = 0;
        for (List<Long> times : streams) {
            for (long t : times) if (t >= from && t < to) n++;
        }
        return n / ((to - from) / 1e9);
    }

    public double maxPauseMs() {
        return pausesMs.isEmpty() ? 0 : pausesMs.getLast();
    }

    public double medianPauseMs() {
        return pausesMs.isEmpty() ? 0 : pausesMs.get(pausesMs.size() / 2);
    }

    public String describe() {
        return String.format(Locale.ROOT, "pause seen by %d stream(s) running across the fault: median %.0f ms, max %.0f ms;"
                        + " throughput %.1f tok/s in the %.1f s before, %.1f tok/s in the %.1f s after the longest pause",
                pausesMs.size(), medianPauseMs(), maxPauseMs(), tokensPerSecondBefore, windowSeconds,
                tokensPerSecondAfter, windowSeconds);
    }
}
