package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which rows of an attention batch the flash-style prefill kernel serves and in which tiles (pure; no device).
 * A sequence with at least {@link #MIN_ROWS} rows in the step (a prefill chunk) is cut into
 * {@code ceil(rows / tileRows)} tiles of near-equal size, each a run of consecutive rows; every other row (decode
 * rows, short chunks) goes to the split-K kernel, which spreads long prefixes over many blocks.
 *
 * <p>{@link #tileRows} mirrors the kernel's limits in attention.cu ({@code sl_flash_prefill_fits}): at most
 * {@value #MAX_ROWS} rows and {@value #MAX_VECTORS} query vectors (rows x G) per tile, at most
 * {@value #PAIRS} x {@value #THREADS} accumulators (vectors x headDim) and {@value #MAX_SMEM} bytes of shared memory.
 *
 * @param tiles          pairs {@code firstRow, rowCount} flattened
 * @param tileRows       the largest tile (the kernel sizes its shared memory for it); 0 when there are no tiles
 * @param splitRows      the batch rows for the split-K kernel, ascending
 * @param splitMaxLength the longest of those rows' attended lengths (position + 1); 0 when none
 */
public record PrefillTiling(int[] tiles, int tileRows, int[] splitRows, int splitMaxLength) {

    /** Sequences with fewer rows in a step stay on the split-K kernel. */
    public static final int MIN_ROWS = 8;
    /** Positions per K/V tile (attention.cu FA_BK). */
    public static final int BLOCK_POSITIONS = 32;
    static final int THREADS = 256;
    static final int PAIRS = 48;
    static final int MAX_ROWS = 64;
    static final int MAX_VECTORS = 128;
    static final int MAX_SMEM = 96 * 1024;
    static final int MAX_HEAD_DIM = 256;

    public PrefillTiling {
        tiles = tiles.clone();
        splitRows = splitRows.clone();
    }

    public int tileCount() {
        return tiles.length / 2;
    }

    /** The kernel's condition for a tile of {@code rows} rows (sl_flash_prefill_fits). */
    static boolean fits(int rows, int groupSize, int headDim) {
        if (rows <= 0 || rows > MAX_ROWS || groupSize <= 0 || headDim <= 0 || headDim > MAX_HEAD_DIM) return false;
        long m = (long) rows * groupSize;
        return m <= MAX_VECTORS && m * headDim <= (long) PAIRS * THREADS
                && smemFloats(m, headDim) * Float.BYTES <= MAX_SMEM;
    }

    /** Shared floats of a tile of {@code vectors} query vectors: q, padded k and v, p, and m, l, fac. */
    static long smemFloats(long vectors, int headDim) {
        return vectors * headDim + 2L * BLOCK_POSITIONS * (headDim + 1) + vectors * BLOCK_POSITIONS + 3 * vectors;
    }

    /** The most rows a tile can take for this head layout; 0 when not even one row fits (no flash prefill). */
    public static int tileRows(int groupSize, int headDim) {
        int best = 0;
        for (int r = 1; r <= MAX_ROWS; r++) {
            if (fits(r, groupSize, headDim)) best = r;
        }
        return best;
    }

    /** The tiling the CUDA backend uses for {@code b}: tiles as large as its head layout allows. */
    public static PrefillTiling of(AttentionBatch b) {
        int rows = b.kvHeads() > 0 && b.qHeads() % b.kvHeads() == 0 ? tileRows(b.groupSize(), b.headDim()) : 0;
        return plan(b.sequences(), rows);
    }

    /** Tiles of at most {@code maxTileRows} rows for the long sequences; the rest for the split kernel. */
    public static PrefillTiling plan(List<SequenceSlice> sequences, int maxTileRows) {
        List<Integer> tiles = new ArrayList<>();
        List<Integer> split = new ArrayList<>();
        int largest = 0;
        int splitMax = 0;
        for (SequenceSlice s : sequences) {
            if (s.rows() <= 0) continue;
            if (maxTileRows > 0 && s.rows() >= MIN_ROWS) {
                int count = (s.rows() + maxTileRows - 1) / maxTileRows;
                int base = s.rows() / count;
                int extra = s.rows() % count;       // the first `extra` tiles take one row more
                int row = s.rowStart();
                for (int t = 0; t < count; t++) {
                    int n = base + (t < extra ? 1 : 0);
                    tiles.add(row);
                    tiles.add(n);
                    largest = Math.max(largest, n);
                    row += n;
                }
            } else {
                for (int i = 0; i < s.rows(); i++) split.add(s.rowStart() + i);
                splitMax = Math.max(splitMax, s.endPosition());
            }
        }
        int[] splitRows = split.stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(splitRows);
        return new PrefillTiling(tiles.stream().mapToInt(Integer::intValue).toArray(), largest, splitRows, splitMax);
    }
}
