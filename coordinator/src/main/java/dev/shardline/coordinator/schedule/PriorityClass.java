package dev.shardline.coordinator.schedule;

/**
 * Which queue a request waits in. Every interactive request ranks above every batch request; within a class the
 * numeric priority decides, then arrival.
 */
public enum PriorityClass {
    /** A user waits for the answer. */
    INTERACTIVE,
    /** Offline work that fills the capacity interactive traffic leaves. */
    BATCH
}
