package dev.shardline.coordinator.batch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which results may be committed (ADR 0011): per partition, the offsets polled in order and their results as they
 * complete in any order; {@link #release} hands out the contiguous completed prefix of each partition (its results
 * in offset order and the offset to commit next) and forgets it. Results behind an unfinished offset are held, and
 * their bytes counted. Pure: no Kafka, no clock, no threads (the batch loop's thread owns it).
 *
 * @param <R> a result (the records one request produces)
 */
final class PrefixTracker<R> {
    /** One partition's released prefix: its results in offset order; commit {@code nextOffset}. */
    record Release<R>(int partition, long nextOffset, List<R> results) {
    }

    private record Slot<R>(R result, long bytes) {
    }

    private final Map<Integer, TreeMap<Long, Slot<R>>> partitions = new HashMap<>();
    private long heldBytes;
    private int held;

    /** Starts tracking a partition (assignment); a partition tracked already keeps its state. */
    void assign(int partition) {
        partitions.computeIfAbsent(partition, p -> new TreeMap<>());
    }

    /**
     * Registers a polled offset (unfinished). Offsets of a partition must rise (gaps are fine: transaction markers
     * take offsets).
     */
    void polled(int partition, long offset) {
        TreeMap<Long, Slot<R>> slots = partitions.get(partition);
        if (slots == null) throw new IllegalStateException("partition " + partition + " is not assigned");
        if (!slots.isEmpty() && slots.lastKey() >= offset) {
            throw new IllegalStateException("partition " + partition + ": offset " + offset + " after " + slots.lastKey());
        }
        slots.put(offset, null);
    }

    /**
     * Records an offset's result. Returns false (and keeps nothing) when the partition is not assigned any more or
     * the offset is unknown or done already: a revoked partition's late result is dropped.
     */
    boolean complete(int partition, long offset, R result, long bytes) {
        TreeMap<Long, Slot<R>> slots = partitions.get(partition);
        if (slots == null || !slots.containsKey(offset) || slots.get(offset) != null) return false;
        slots.put(offset, new Slot<>(result, bytes));
        heldBytes += bytes;
        held++;
        return true;
    }

    /** Takes every partition's contiguous completed prefix; empty when none closed. */
    List<Release<R>> release() {
        List<Release<R>> out = new ArrayList<>();
        for (var e : partitions.entrySet()) {
            TreeMap<Long, Slot<R>> slots = e.getValue();
            List<R> results = new ArrayList<>();
            long last = -1;
            while (!slots.isEmpty() && slots.firstEntry().getValue() != null) {
                var first = slots.pollFirstEntry();
                results.add(first.getValue().result());
                heldBytes -= first.getValue().bytes();
                held--;
                last = first.getKey();
            }
            if (!results.isEmpty()) out.add(new Release<>(e.getKey(), last + 1, results));
        }
        return out;
    }

    /** Stops tracking a partition; its unfinished offsets and held results are dropped (they run again elsewhere). */
    void revoke(int partition) {
        TreeMap<Long, Slot<R>> slots = partitions.remove(partition);
        if (slots == null) return;
        for (Slot<R> s : slots.values()) {
            if (s != null) {
                heldBytes -= s.bytes();
                held--;
            }
        }
    }

    boolean assigned(int partition) {
        return partitions.containsKey(partition);
    }

    /** Offsets polled and not released (unfinished or held). */
    int open() {
        int n = 0;
        for (TreeMap<Long, Slot<R>> s : partitions.values()) n += s.size();
        return n;
    }

    /** Results completed but held behind an unfinished offset of their partition. */
    int held() {
        return held;
    }

    long heldBytes() {
        return heldBytes;
    }
}
