package dev.shardline.model.forward;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kvcache.KvCache;

/**
 * How a step's layers run on a backend that can replay them as a captured graph (backend cuda's decode graphs).
 * {@link #paddedRows} picks, before any work, the row count the step runs with: 0 to run it as it is, or a bucket
 * at least as large as its rows, the rows beyond the step's own being padding that the backend's attention ignores
 * (no cache write, zero output; every other op is row by row, so padding never reaches a real row). For a padded
 * step the forward pass stages its inputs (embedding or hidden states, RoPE tables) into its fixed buffers first,
 * then hands the layer loop to {@link #runLayers}, which stages the attention batch and runs the loop eagerly, or
 * captures it as a graph, or replays the graph captured earlier for the same shape.
 */
public interface StepGraphs {

    /** Every step runs as it is. */
    StepGraphs NONE = new StepGraphs() {
        @Override
        public int paddedRows(int sequences, int rows) {
            return 0;
        }

        @Override
        public void runLayers(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers) {
            layers.run();
        }
    };

    /** The bucket (>= rows) a step of {@code sequences} sequences and {@code rows} rows runs with, or 0: as it is. */
    int paddedRows(int sequences, int rows);

    /**
     * Runs {@code layers} (which issue the step's layer ops with {@code paddedRows} rows) for a step that
     * {@link #paddedRows} padded; {@code batch} holds only the step's own rows.
     */
    void runLayers(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers);

    /** Frees what the graphs hold (called by {@code Qwen2Forward.close}). */
    default void close() {
    }
}
