package dev.shardline.worker.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * Which steps run their layers as a CUDA graph, and with which shape (pure; {@link CudaDecodeGraphs} acts on it).
 * A graph is captured per decode batch-size bucket (1, 2, 4, ... up to {@code maxBatch}, a power of two): a step of
 * n decode rows runs with the smallest bucket >= n, the rows beyond n being padding (position -1: no cache write,
 * zero attention output). Only decode-only steps qualify: every sequence contributes exactly one row (a prefill
 * chunk would need the flash kernel, whose tiles depend on the chunk), at most {@code maxBatch} of them, and not
 * under {@code cuda-debug-sync} (its per-launch synchronisation is illegal inside a capture).
 *
 * <p>The split-K attention reads each row's length from device memory; the step's longest length only chooses the
 * number of splits (and so the workspace). A graph fixes that number: {@link #graphSplits} rounds the eager choice
 * up to a power of two, capped where more length adds no split, so a bucket has at most 8 graphs (1..128 splits)
 * and one graph serves every length up to its split count's range. This mirrors the native
 * {@code sl_attention_splits} (ATTN_CHUNK 128 positions, ATTN_TARGET_BLOCKS 1024, ATTN_MAX_SPLITS 128).
 *
 * <p>{@code head} ({@code cuda-graph-head}): whether a last stage's padded step whose every token the device chooses
 * captures its head (final norm, lm_head, device sampling) with the layers; false keeps every head eager.
 */
public record DecodeGraphPlan(boolean enabled, int maxBatch, boolean debugSync, boolean head) {

    /** Default largest bucket ({@code cuda-graph-max-batch}). */
    public static final int DEFAULT_MAX_BATCH = 32;
    /** Largest allowed bucket: the split kernel's grid and the matvec both take it comfortably. */
    public static final int LIMIT = 256;
    static final int ATTN_CHUNK = 128;
    static final int ATTN_TARGET_BLOCKS = 1024;
    static final int ATTN_MAX_SPLITS = 128;

    /** Graphs off: every step eager. */
    public static final DecodeGraphPlan OFF = new DecodeGraphPlan(false, DEFAULT_MAX_BATCH, false);

    public DecodeGraphPlan {
        if (maxBatch < 1 || maxBatch > LIMIT || Integer.bitCount(maxBatch) != 1) {
            throw new IllegalArgumentException("cuda-graph-max-batch must be a power of two in 1.." + LIMIT
                    + ", got " + maxBatch);
        }
    }

    /** With the last stage's head in the graphs where a step qualifies ({@code cuda-graph-head}, default true). */
    public DecodeGraphPlan(boolean enabled, int maxBatch, boolean debugSync) {
        this(enabled, maxBatch, debugSync, true);
    }

    /** The buckets a graph may be captured for: 1, 2, 4, ..., maxBatch. */
    public List<Integer> buckets() {
        List<Integer> out = new ArrayList<>();
        for (int b = 1; b <= maxBatch; b <<= 1) out.add(b);
        return out;
    }

    /**
     * How a step of {@code sequences} sequences and {@code rows} rows runs.
     *
     * @return the choice: a bucket (>= rows) for a graph, or eager with the reason
     */
    public Choice choose(int sequences, int rows) {
        if (!enabled) return Choice.eager("cuda-graphs=false");
        if (debugSync) return Choice.eager("cuda-debug-sync synchronises inside the capture");
        if (rows <= 0 || sequences <= 0) return Choice.eager("empty step");
        if (rows != sequences) return Choice.eager("prefill rows in the step");
        if (rows > maxBatch) return Choice.eager(rows + " rows > cuda-graph-max-batch " + maxBatch);
        return new Choice(bucket(rows), null);
    }

    /** The smallest bucket holding {@code rows} rows (a power of two). */
    static int bucket(int rows) {
        return rows <= 1 ? 1 : Integer.highestOneBit(rows - 1) << 1;
    }

    /** The split-K kernel's split count for a step (the native sl_attention_splits). */
    static int splits(int rows, int kvHeads, int maxLength) {
        if (rows <= 0 || kvHeads <= 0 || maxLength <= 0) return 1;
        long byLen = (maxLength + ATTN_CHUNK - 1L) / ATTN_CHUNK;
        long byBlocks = ATTN_TARGET_BLOCKS / ((long) rows * kvHeads);
        long s = Math.min(Math.min(byLen, byBlocks), ATTN_MAX_SPLITS);
        return (int) Math.max(1, s);
    }

    /**
     * The split count a graph of {@code rows} (padded) rows uses for a step whose longest row attends to
     * {@code maxLength} positions: the eager count rounded up to a power of two, at most the count an unbounded
     * length would get. Never fewer splits than eager.
     */
    public static int graphSplits(int rows, int kvHeads, int maxLength) {
        int eager = splits(rows, kvHeads, maxLength);
        int saturated = splits(rows, kvHeads, Integer.MAX_VALUE / 2);
        int up = Integer.bitCount(eager) == 1 ? eager : Integer.highestOneBit(eager) << 1;
        return Math.min(up, saturated);
    }

    /** The {@code maxLength} argument that makes the kernel choose {@code splits} splits for {@code rows} rows. */
    public static int launchLength(int splits) {
        return splits * ATTN_CHUNK;
    }

    /**
     * @param bucket the padded row count; 0 when the step runs eagerly
     * @param reason why not a graph (null for a graph)
     */
    public record Choice(int bucket, String reason) {
        static Choice eager(String reason) {
            return new Choice(0, reason);
        }

        public boolean graph() {
            return bucket > 0;
        }
    }
}
