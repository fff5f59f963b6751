package dev.shardline.coordinator.batch;

/**
 * What the batch loop needs to know of a batch's life: whether its unfinished requests must be answered without
 * generating (cancelled or expired). Backed by the batches topic (the Batch API), or by nothing.
 */
public interface BatchStates {
    /** Why this batch's requests are answered without generating: {@code batch_cancelled}, {@code batch_expired}, or null. */
    String ended(String batchId);

    /** Changes whenever a batch ended (so the loop rechecks its in-flight requests only then). */
    long version();

    BatchStates NONE = new BatchStates() {
        @Override
        public String ended(String batchId) {
            return null;
        }

        @Override
        public long version() {
            return 0;
        }
    };
}
