package dev.shardline.model.forward;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.sampling.SampledToken;

/**
 * How a step's layers run on a backend that can replay them as a captured graph (backend cuda's decode graphs).
 * {@link #paddedRows} picks, before any work, the row count the step runs with: 0 to run it as it is, or a bucket
 * at least as large as its rows, the rows beyond the step's own being padding that the backend's attention ignores
 * (no cache write, zero output; every other op is row by row, so padding never reaches a real row). For a padded
 * step the forward pass stages its inputs (embedding or hidden states, RoPE tables) into its fixed buffers first,
 * then hands the layer loop to {@link #runLayers}, which stages the attention batch and runs the loop eagerly, or
 * captures it as a graph, or replays the graph captured earlier for the same shape.
 *
 * <p>On the last stage, a padded decode step whose every token the device sampler chooses ({@link GraphHead#refusal}
 * null) may hand its head along too, when {@link #graphsHead} says so: {@link #runStep} then runs the layers, the
 * final norm and lm_head, and the sampler's kernels over all padded rows, in one graph where the backend captures.
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

    /** Whether padded steps may hand their head to {@link #runStep} (else the head runs after the layers, eagerly). */
    default boolean graphsHead() {
        return false;
    }

    /**
     * As {@link #runLayers}, followed by {@code head} (its logits and the device sampler's kernels over the padded
     * rows); returns each of the step's rows' token, null where the device declined the row (its logits are in
     * the head's buffer, row i). Without graphs: the layers, then {@link GraphHead#runEagerly}.
     */
    default SampledToken[] runStep(int paddedRows, AttentionBatch batch, KvCache cache, Runnable layers,
                                   GraphHead head) {
        runLayers(paddedRows, batch, cache, layers);
        return head.runEagerly();
    }

    /** Frees what the graphs hold (called by {@code Qwen2Forward.close}). */
    default void close() {
    }
}
