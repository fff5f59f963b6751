package dev.shardline.worker.cuda;

import dev.shardline.model.forward.GraphHead;
import dev.shardline.model.sampling.SampledToken;

/**
 * The fixed device layout of a padded head ({@link GraphHead}) that a decode graph captures with the layers (pure;
 * {@link CudaKernels#stageHead} allocates and uploads, {@link CudaKernels#launchHead} launches). A graph bakes every
 * pointer, so nothing here may depend on the step beyond its bucket:
 * <ul>
 *   <li>results: one int buffer of {@link #outInts} for {@code rows} padded rows: argmaxLogprob's ids [rows], its
 *       log-probs [rows] (float bits), then the draw kernel's {@link DeviceDraws#ROW_INTS} per row;</li>
 *   <li>draw parameters: {@link DeviceDraws.Layout} for the padded rows with room for {@link #editCapacity} edits
 *       (not the step's count, which would move the offsets after the edit ids); a step with more edits grows the
 *       capacity, which re-allocates the buffer (a free: every graph is stale and captured again);</li>
 *   <li>the draw kernel's scratch for edited rows: {@code rows x n} floats, passed whether or not the step edits
 *       (rows without edits never touch it).</li>
 * </ul>
 * The kind of head a graph holds ({@link #kind}) is part of its shape: which of the two kernels it launches.
 */
final class HeadStaging {

    /** No head: the graph holds the layers only. */
    static final int LAYERS_ONLY = 0;
    /** Smallest edit capacity staged. */
    static final int MIN_EDITS = 4096;

    private HeadStaging() {
    }

    /** The head kind of a step: 1 argmaxLogprob only, 2 draw only, 3 both. */
    static int kind(boolean greedy, boolean drawn) {
        if (!greedy && !drawn) throw new IllegalArgumentException("a head with neither greedy nor drawn rows");
        return (greedy ? 1 : 0) | (drawn ? 2 : 0);
    }

    static boolean greedy(int kind) {
        return (kind & 1) != 0;
    }

    static boolean drawn(int kind) {
        return (kind & 2) != 0;
    }

    /** Ints of the result buffer for {@code rows} padded rows. */
    static int outInts(int rows) {
        return 2 * rows + rows * DeviceDraws.ROW_INTS;
    }

    /** Where the draw kernel's rows start in the result buffer, in ints. */
    static int drawAt(int rows) {
        return 2 * rows;
    }

    /**
     * The edit capacity to stage for a step with {@code needed} edits when {@code current} is staged: the current
     * one while it holds them, else a power of two >= needed (at least {@link #MIN_EDITS}), so growth is rare.
     */
    static int editCapacity(int needed, int current) {
        if (needed < 0) throw new IllegalArgumentException("negative edit count " + needed);
        if (needed <= current) return current;
        int grown = Math.max(MIN_EDITS, Integer.highestOneBit(Math.max(1, needed - 1)) << 1);
        if (grown < needed) throw new IllegalArgumentException(needed + " edits in one step");
        return grown;
    }

    /**
     * The step's rows' tokens from the result buffer {@code raw} of {@code head.paddedRows()} rows: argmaxLogprob's
     * for greedy rows, the draw's (null where declined) for drawn ones; the padding rows are ignored.
     */
    static SampledToken[] tokens(GraphHead head, int[] raw) {
        int rows = head.paddedRows();
        if (raw.length < outInts(rows)) {
            throw new IllegalArgumentException(raw.length + " result ints for " + rows + " padded rows");
        }
        int[] ids = null;
        float[] logprobs = null;
        SampledToken[] drawn = null;
        if (head.anyGreedy()) {
            ids = new int[rows];
            logprobs = new float[rows];
            for (int r = 0; r < rows; r++) {
                ids[r] = raw[r];
                logprobs[r] = Float.intBitsToFloat(raw[rows + r]);
            }
        }
        if (head.anyDrawn()) {
            int[] draws = java.util.Arrays.copyOfRange(raw, drawAt(rows), outInts(rows));
            drawn = new SampledToken[rows];
            for (int r = 0; r < head.rows(); r++) drawn[r] = DeviceDraws.decode(draws, r);
        }
        return head.pick(ids, logprobs, drawn);
    }
}
