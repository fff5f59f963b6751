package dev.shardline.coordinator.batch;

/**
 * The batch work still to process across the whole consumer group (ADR 0010): records past the group's committed
 * offsets and an estimate of their tokens (lag times the mean prompt + max tokens of the records seen, or the
 * producers' counts when every record seen carried one).
 */
public record Backlog(long records, long tokens, boolean exact) {
    public static final Backlog NONE = new Backlog(0, 0, false);

    /** Lag times the mean per record; exact only when every record seen had a producer's count. */
    static Backlog estimate(long lag, long recordsSeen, long tokensSeen, boolean allCounted) {
        if (lag <= 0) return new Backlog(0, 0, allCounted && recordsSeen > 0);
        long mean = recordsSeen == 0 ? 0 : Math.round((double) tokensSeen / recordsSeen);
        return new Backlog(lag, lag * mean, allCounted && recordsSeen > 0);
    }
}
