package dev.shardline.coordinator.cluster;

import dev.shardline.coordinator.schedule.PriorityClass;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

/**
 * Sequences waiting for a pipeline that can take them (none serves, none fits, or they just left one), in rank
 * order: interactive before batch, higher priority first, then arrival (a migrated sequence keeps its place).
 */
final class PendingQueue {
    record Entry(ClusterSequence sequence, long sinceNanos, long deadlineNanos) {
    }

    private static final Comparator<Entry> ORDER = Comparator
            .comparing((Entry e) -> e.sequence().request().priorityClass())
            .thenComparing(Comparator.comparingInt((Entry e) -> e.sequence().request().priority()).reversed())
            .thenComparingLong(e -> e.sequence().key());

    private final TreeSet<Entry> entries = new TreeSet<>(ORDER);

    void add(ClusterSequence s, long now, long timeoutNanos) {
        entries.add(new Entry(s, now, now + timeoutNanos));
    }

    boolean remove(ClusterSequence s) {
        return entries.removeIf(e -> e.sequence() == s);
    }

    /** In rank order; removal through the iterator. */
    Iterator<Entry> iterator() {
        return entries.iterator();
    }

    int size() {
        return entries.size();
    }

    /** Tokens the waiting sequences may need: prompt + max tokens each (the backlog). */
    long tokens() {
        long t = 0;
        for (Entry e : entries) {
            long max = e.sequence().request().maxTokens();
            t += e.sequence().request().promptTokens().length + (max == Integer.MAX_VALUE ? 0 : max);
        }
        return t;
    }

    int count(PriorityClass c) {
        int n = 0;
        for (Entry e : entries) if (e.sequence().request().priorityClass() == c) n++;
        return n;
    }

    List<ClusterSequence> sequences() {
        List<ClusterSequence> out = new ArrayList<>();
        for (Entry e : entries) out.add(e.sequence());
        return out;
    }
}
