package dev.shardline.coordinator.desired;

/**
 * Plan epochs that only increase, also across coordinator restarts, without a clock or a disk: an epoch is
 * {@code incarnation << 32 | counter}. A coordinator starts at incarnation 1 and moves above any incarnation it sees
 * in an epoch a worker reports (workers keep their assignment when the coordinator goes away and report its epoch
 * when they register again), so every epoch it issues afterwards is larger than any epoch a worker holds.
 */
public final class Epochs {
    private final java.util.Set<Long> issued = new java.util.HashSet<>();
    private int incarnation = 1;
    private int counter;
    private long current;

    /**
     * Takes note of an epoch a worker reports; when another coordinator issued it (its incarnation is ours or
     * newer and we did not issue it), later epochs from {@link #next()} move to a newer incarnation.
     */
    public synchronized void observe(long epoch) {
        int seen = (int) (epoch >>> 32);
        if (seen > incarnation || (seen == incarnation && !issued.contains(epoch))) {
            incarnation = seen + 1;
            counter = 0;
        }
    }

    /** A new epoch, larger than every epoch issued or observed before. */
    public synchronized long next() {
        current = ((long) incarnation << 32) | (++counter & 0xffffffffL);
        issued.add(current);
        return current;
    }

    /** The last epoch issued (0 before the first). */
    public synchronized long current() {
        return current;
    }

    public static String format(long epoch) {
        return (epoch >>> 32) + "." + (epoch & 0xffffffffL);
    }
}
