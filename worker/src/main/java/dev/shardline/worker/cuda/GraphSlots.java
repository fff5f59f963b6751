package dev.shardline.worker.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The life of the decode graphs of one forward pass, one slot per shape (padded rows, attention splits, head kind:
 * {@link HeadStaging#kind}, 0 for the layers alone), as pure
 * bookkeeping ({@link CudaDecodeGraphs} does the CUDA calls): a shape seen for the first time runs eagerly (the
 * warm-up that makes lazy allocations happen outside a capture), the second time it is captured, then replayed. A
 * graph captured at one memory epoch is stale once the epoch moved (device memory was freed since, so it may read a
 * freed buffer): it is handed back for destruction and its shape warms up again. A shape whose capture failed runs
 * eagerly for good. Graph handles are opaque longs, never 0.
 */
final class GraphSlots {

    /** What to do with a step. */
    enum Action {
        /** First sight of the shape (or after its graph went stale): run eagerly. */
        WARM_UP,
        /** Seen before, no graph yet: capture the layers, then launch the graph. */
        CAPTURE,
        /** Launch {@link Decision#handle}. */
        REPLAY,
        /** The shape's capture failed earlier: run eagerly. */
        FAILED
    }

    /**
     * @param action what to do
     * @param handle the graph to replay (REPLAY), else 0
     * @param free   graphs to destroy first (a stale one)
     */
    record Decision(Action action, long handle, List<Long> free) {
    }

    private static final class Slot {
        long handle;
        long epoch;
        String failed;
    }

    private final Map<Long, Slot> slots = new HashMap<>();

    static long key(int rows, int splits, int head) {
        if (head < 0 || head > 255 || splits < 0 || splits >= 1 << 24) {
            throw new IllegalArgumentException("graph shape: splits " + splits + ", head " + head);
        }
        return ((long) rows << 32) | ((long) head << 24) | splits;
    }

    /** The step of this shape (layers only) at memory epoch {@code epoch}. */
    Decision decide(int rows, int splits, long epoch) {
        return decide(rows, splits, 0, epoch);
    }

    /** The step of this shape, with head kind {@code head}, at memory epoch {@code epoch}. */
    Decision decide(int rows, int splits, int head, long epoch) {
        long key = key(rows, splits, head);
        Slot slot = slots.get(key);
        List<Long> free = new ArrayList<>(1);
        if (slot != null && slot.handle != 0 && slot.epoch != epoch) {
            free.add(slot.handle);
            slots.remove(key);
            slot = null;
        }
        if (slot == null) {
            slots.put(key, new Slot());
            return new Decision(Action.WARM_UP, 0, free);
        }
        if (slot.failed != null) return new Decision(Action.FAILED, 0, free);
        if (slot.handle == 0) return new Decision(Action.CAPTURE, 0, free);
        return new Decision(Action.REPLAY, slot.handle, free);
    }

    /** A capture of the shape that began at {@code epoch} gave {@code handle}. */
    void captured(int rows, int splits, long handle, long epoch) {
        captured(rows, splits, 0, handle, epoch);
    }

    /** As {@link #captured(int, int, long, long)} for head kind {@code head}. */
    void captured(int rows, int splits, int head, long handle, long epoch) {
        if (handle == 0) throw new IllegalArgumentException("graph handle 0");
        Slot slot = slots.computeIfAbsent(key(rows, splits, head), k -> new Slot());
        slot.handle = handle;
        slot.epoch = epoch;
        slot.failed = null;
    }

    /** The shape's capture failed: it stays eager. */
    void failed(int rows, int splits, String reason) {
        failed(rows, splits, 0, reason);
    }

    /** As {@link #failed(int, int, String)} for head kind {@code head}. */
    void failed(int rows, int splits, int head, String reason) {
        Slot slot = slots.computeIfAbsent(key(rows, splits, head), k -> new Slot());
        slot.handle = 0;
        slot.failed = reason;
    }

    /** Forgets every shape; returns the graphs to destroy. */
    List<Long> clear() {
        List<Long> out = new ArrayList<>();
        for (Slot s : slots.values()) {
            if (s.handle != 0) out.add(s.handle);
        }
        slots.clear();
        return out;
    }

    /** Graphs held. */
    int live() {
        return (int) slots.values().stream().filter(s -> s.handle != 0).count();
    }
}
