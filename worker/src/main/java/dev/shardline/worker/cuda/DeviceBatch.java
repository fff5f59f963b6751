package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvLayer;

/**
 * One {@link AttentionBatch} as the attention kernels read it, uploaded once per step into one device int buffer:
 * {@code rowSeq [rows] | rowPos [rows] | seqBt [sequences] | blockTables [sum of table lengths] | flash tiles
 * [2 x tiles] | split rows [rows on the split kernel]} ({@link PrefillTiling}). The forward pass hands the same
 * batch object to every layer, so the copy is kept for the last batch seen (by identity and padding).
 *
 * <p>A decode step padded to a graph bucket ({@link #use(AttentionBatch, int, KvLayer)}) has {@code padRows} rows
 * and as many sequences: row r beyond the step's own is its own sequence r, at position -1 (the kernels' padding:
 * nothing stored, zero output), with an empty block table. Every offset the kernels are launched with then depends
 * on the bucket only, never on the step, so a captured graph stays valid while the buffer is not reallocated.
 */
final class DeviceBatch implements AutoCloseable {
    private final PinnedStaging staging;
    private final Runnable onFree;    // told when the device buffer is freed (graphs that read it are stale)
    private DeviceBuffer ints;        // grown, reused across steps
    private AttentionBatch batch;     // the batch uploaded now (held, so identity cannot be reused)
    private int padRows;              // its padding bucket (0: none)
    private int rows;
    private int sequences;
    private int maxLength;            // longest row's position + 1
    private int validatedBlockSize;   // the KV geometry the tables were checked against
    private int validatedBlocks;
    private PrefillTiling tiling;
    private long tilesOffset;         // ints before the tiles
    private boolean splitRowsAreAll;

    DeviceBatch(PinnedStaging staging, Runnable onFree) {
        this.staging = staging;
        this.onFree = onFree;
    }

    DeviceBatch(PinnedStaging staging) {
        this(staging, () -> { });
    }

    DeviceBatch() {
        this(new PinnedStaging("attention batch"));
    }

    /** Uploads {@code b} unless it is the batch uploaded last; checks its tables against {@code kv} once. */
    void use(AttentionBatch b, KvLayer kv) {
        use(b, 0, kv);
    }

    /** Whether {@code b} with this padding is what the device holds now (no upload needed). */
    boolean holds(AttentionBatch b, int padRows) {
        return b == batch && padRows == this.padRows;
    }

    /** {@link #use} for a decode step padded to {@code padRows} rows (0: not padded); see the class comment. */
    void use(AttentionBatch b, int padRows, KvLayer kv) {
        use(b, padRows, kv.blockSize(), kv.numBlocks());
    }

    /** {@link #use(AttentionBatch, int, KvLayer)} for a cache of this geometry. */
    void use(AttentionBatch b, int padRows, int blockSize, int numBlocks) {
        if (!holds(b, padRows)) {
            upload(b, padRows);
        }
        if (blockSize != validatedBlockSize || numBlocks != validatedBlocks) {
            validate(b, blockSize, numBlocks);
            validatedBlockSize = blockSize;
            validatedBlocks = numBlocks;
        }
    }

    /**
     * The ints uploaded for a batch (pure): {@code rowSeq [rows] | rowPos [rows] | seqBt [sequences] | blockTables |
     * tiles [2 x tiles] | splitRows}.
     *
     * @param tilesOffset index of the first tile int (the split rows follow the tiles)
     * @param maxLength   the longest row's position + 1
     */
    record Layout(int[] ints, int rows, int maxLength, PrefillTiling tiling, int tilesOffset) {

        static Layout of(AttentionBatch b) {
            return of(b, 0);
        }

        /**
         * @param padRows 0, or the bucket a decode-only batch (one row per sequence) is padded to: rows and
         *                sequences beyond the batch's are padding (position -1, empty block table)
         */
        static Layout of(AttentionBatch b, int padRows) {
            int real = b.sequences().size();
            if (padRows > 0) {
                for (SequenceSlice s : b.sequences()) {
                    if (s.rows() != 1) {
                        throw new IllegalArgumentException("attention batch: a padded batch must be decode-only, "
                                + "a sequence has " + s.rows() + " rows");
                    }
                }
                if (b.totalRows() != real || padRows < real) {
                    throw new IllegalArgumentException("attention batch: " + b.totalRows() + " rows of " + real
                            + " sequences cannot be padded to " + padRows + " rows");
                }
            }
            int n = padRows > 0 ? padRows : b.totalRows();
            int seqs = padRows > 0 ? padRows : real;
            long tables = 0;
            for (SequenceSlice s : b.sequences()) tables += s.blockTable().length;
            PrefillTiling plan = padRows > 0 ? paddedPlan(b, padRows) : PrefillTiling.of(b);
            long total = 2L * n + seqs + tables + plan.tiles().length + plan.splitRows().length;
            if (total > Integer.MAX_VALUE / 4) {
                throw new IllegalArgumentException("attention batch too large: " + total + " ints");
            }
            int[] host = new int[(int) total];
            int max = 0;
            int at = 2 * n + seqs;
            for (int r = real; r < n; r++) {                          // padding: own sequence, position -1
                host[r] = r;
                host[n + r] = -1;
                host[2 * n + r] = 0;
            }
            for (int s = 0; s < real; s++) {
                SequenceSlice seq = b.sequences().get(s);
                if (seq.rowStart() < 0 || seq.rows() < 0 || seq.rowStart() + seq.rows() > n || seq.firstPosition() < 0) {
                    throw new IllegalArgumentException("attention batch: sequence " + s + " rows [" + seq.rowStart()
                            + ", " + (seq.rowStart() + seq.rows()) + ") at position " + seq.firstPosition()
                            + " outside the batch's " + n + " rows");
                }
                for (int i = 0; i < seq.rows(); i++) {
                    host[seq.rowStart() + i] = s;                     // rowSeq
                    host[n + seq.rowStart() + i] = seq.firstPosition() + i;   // rowPos
                }
                max = Math.max(max, seq.endPosition());
                host[2 * n + s] = at - (2 * n + seqs);                // seqBt: offset from blockTables' start
                System.arraycopy(seq.blockTable(), 0, host, at, seq.blockTable().length);
                at += seq.blockTable().length;
            }
            System.arraycopy(plan.tiles(), 0, host, at, plan.tiles().length);
            System.arraycopy(plan.splitRows(), 0, host, at + plan.tiles().length, plan.splitRows().length);
            return new Layout(host, n, max, plan, at);
        }

        /** A padded decode batch: no tiles, every (padded) row on the split kernel. */
        private static PrefillTiling paddedPlan(AttentionBatch b, int padRows) {
            int[] all = new int[padRows];
            int max = 0;
            for (int r = 0; r < padRows; r++) all[r] = r;
            for (SequenceSlice s : b.sequences()) max = Math.max(max, s.endPosition());
            return new PrefillTiling(new int[0], 0, all, max);
        }

        /** Whether the split rows are all the rows in order (the kernel then needs no map). */
        boolean splitRowsAreAll() {
            return tiling.splitRows().length == rows;
        }
    }

    private void upload(AttentionBatch b, int padRows) {
        batch = null;
        validatedBlockSize = 0;
        Layout layout = Layout.of(b, padRows);
        int[] host = layout.ints();
        if (ints == null || ints.bytes() < 4L * host.length) {
            if (ints != null) {
                ints.close();
                onFree.run();
            }
            ints = null;
            ints = DeviceBuffer.allocate(Math.max(4096, 8L * host.length));
        }
        if (host.length > 0) {                                    // pinned, asynchronous on the stream
            staging.begin(4L * host.length);
            staging.putInts(0, host, 0, host.length);
            staging.upload(ints.ptr(), 4L * host.length);
        }
        rows = layout.rows();
        sequences = padRows > 0 ? padRows : b.sequences().size();
        maxLength = layout.maxLength();
        tiling = layout.tiling();
        tilesOffset = layout.tilesOffset();
        splitRowsAreAll = layout.splitRowsAreAll();
        batch = b;
        this.padRows = padRows;
    }

    private static void validate(AttentionBatch b, int blockSize, int numBlocks) {
        for (SequenceSlice seq : b.sequences()) {
            if (seq.rows() == 0) continue;
            int needed = (seq.endPosition() - 1) / blockSize + 1;
            if (seq.blockTable().length < needed) {
                throw new IllegalArgumentException("attention batch: block table of " + seq.blockTable().length
                        + " blocks cannot hold position " + (seq.endPosition() - 1) + " with block size "
                        + blockSize);
            }
            for (int i = 0; i < needed; i++) {
                int block = seq.blockTable()[i];
                if (block < 0 || block >= numBlocks) {
                    throw new IllegalArgumentException("attention batch: block " + block + " outside the cache's "
                            + numBlocks + " blocks");
                }
            }
        }
    }

    int rows() {
        return rows;
    }

    int maxLength() {
        return maxLength;
    }

    /** The rows for the flash prefill kernel (tiles) and for the split kernel. */
    PrefillTiling tiling() {
        return tiling;
    }

    long tiles() {
        return ints.ptr() + 4L * tilesOffset;
    }

    /** The split rows' map, or 0 when they are all the batch's rows in order (the kernel then needs none). */
    long splitRowMap() {
        return splitRowsAreAll ? 0 : ints.ptr() + 4L * (tilesOffset + tiling.tiles().length);
    }

    long rowSeq() {
        return ints.ptr();
    }

    long rowPos() {
        return ints.ptr() + 4L * rows;
    }

    long seqBt() {
        return ints.ptr() + 8L * rows;
    }

    long blockTables() {
        return ints.ptr() + 4L * (2L * rows + sequences);
    }

    @Override
    public void close() {
        batch = null;
        staging.close();
        if (ints != null) {
            DeviceBuffer b = ints;
            ints = null;
            b.close();
            onFree.run();
        }
    }
}
