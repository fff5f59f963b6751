package dev.shardline.model.sampling;

import java.util.List;

/**
 * Watches a stream of decoded text for stop strings. Each {@link #push} returns the text that is safe to emit:
 * everything except a tail that could still grow into a stop string (only the longest such tail is held back).
 * When a stop string appears, possibly spread over several deltas, the text before it is emitted, the stop string
 * itself and everything after it are dropped, and the checker is done. The earliest match in the text wins; at
 * the same position the first listed stop string wins.
 */
public final class StopChecker {
    /** Text to emit now; {@code stop} is the matched stop string when {@code stopped}, else null. */
    public record Result(String text, boolean stopped, String stop) {
    }

    private final List<String> stops;
    private final int maxLength;
    private String held = "";
    private boolean stopped;

    public StopChecker(List<String> stops) {
        this.stops = List.copyOf(stops);
        int max = 0;
        for (String s : this.stops) {
            if (s.isEmpty()) {
                throw new InvalidSamplingException("stop", "stop strings must not be empty");
            }
            max = Math.max(max, s.length());
        }
        this.maxLength = max;
    }

    public boolean stopped() {
        return stopped;
    }

    /** Consumes the next decoded text; after a stop everything is ignored. */
    public Result push(String delta) {
        if (stopped) {
            return new Result("", true, null);
        }
        if (stops.isEmpty()) {
            return new Result(delta, false, null);
        }
        String text = held + delta;
        int bestAt = -1;
        String best = null;
        for (String s : stops) {
            int at = text.indexOf(s);
            if (at >= 0 && (bestAt < 0 || at < bestAt)) {
                bestAt = at;
                best = s;
            }
        }
        if (best != null) {
            stopped = true;
            held = "";
            return new Result(text.substring(0, bestAt), true, best);
        }
        int keep = longestPartialSuffix(text);
        held = text.substring(text.length() - keep);
        return new Result(text.substring(0, text.length() - keep), false, null);
    }

    /** The end of generation without a stop string: releases the held-back tail. */
    public String finish() {
        String rest = stopped ? "" : held;
        held = "";
        return rest;
    }

    /** Length of the longest suffix of text that is a proper prefix of some stop string. */
    private int longestPartialSuffix(String text) {
        for (int len = Math.min(maxLength - 1, text.length()); len > 0; len--) {
            int from = text.length() - len;
            for (String s : stops) {
                if (s.length() > len && text.regionMatches(from, s, 0, len)) {
                    return len;
                }
            }
        }
        return 0;
    }
}
