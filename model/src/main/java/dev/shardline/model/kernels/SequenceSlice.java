package dev.shardline.model.kernels;

/**
 * One sequence's share of a batch: rows {@code [rowStart, rowStart + rows)} of the batch's activations are this
 * sequence's tokens at positions {@code firstPosition, firstPosition + 1, ...}. A prefill chunk has many rows, a
 * decode step one. Its KV cache lives in the blocks listed by {@code blockTable}, which covers at least
 * {@code firstPosition + rows} positions.
 */
public record SequenceSlice(int rowStart, int rows, int firstPosition, int[] blockTable) {

    /** Positions this sequence holds in the cache after this step. */
    public int endPosition() {
        return firstPosition + rows;
    }
}
