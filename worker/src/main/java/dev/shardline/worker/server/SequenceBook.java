package dev.shardline.worker.server;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The sequences a stage has seen and not yet been told to forget, with their latest block tables: what
 * {@code live_sequences} and {@code kv_blocks_used} report. The blocks themselves belong to the coordinator.
 */
final class SequenceBook {
    private final Map<Long, int[]> tables = new HashMap<>();

    synchronized void seen(long sequenceId, int[] blockTable) {
        tables.put(sequenceId, blockTable);
    }

    /** Forgets the ids; returns how many were known. */
    synchronized int forget(Collection<Long> sequenceIds) {
        int known = 0;
        for (Long id : sequenceIds) {
            if (tables.remove(id) != null) {
                known++;
            }
        }
        return known;
    }

    synchronized int liveSequences() {
        return tables.size();
    }

    synchronized int blocksUsed() {
        Set<Integer> used = new HashSet<>();
        for (int[] table : tables.values()) {
            for (int b : table) {
                used.add(b);
            }
        }
        return used.size();
    }
}
