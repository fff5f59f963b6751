package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvLayer;

/**
 * One {@link AttentionBatch} as the attention kernels read it, uploaded once per step into one device int buffer:
 * {@code rowSeq [rows] | rowPos [rows] | seqBt [sequences] | blockTables [sum of table lengths] | flash tiles
 * [2 x tiles] | split rows [rows on the split kernel]} ({@link PrefillTiling}). The forward pass hands the same
 * batch object to every layer, so the copy is kept for the last batch seen (by identity).
 */
final class DeviceBatch implements AutoCloseable {
    private final PinnedStaging staging;
    private DeviceBuffer ints;        // grown, reused across steps
    private AttentionBatch batch;     // the batch uploaded now (held, so identity cannot be reused)
    private int rows;
    private int maxLength;            // longest row's position + 1
    private int validatedBlockSize;   // the KV geometry the tables were checked against
    private int validatedBlocks;
    private PrefillTiling tiling;
    private long tilesOffset;         // ints before the tiles
    private boolean splitRowsAreAll;

    DeviceBatch(PinnedStaging staging) {
        this.staging = staging;
    }

    DeviceBatch() {
        this(new PinnedStaging("attention batch"));
    }

    /** Uploads {@code b} unless it is the batch uploaded last; checks its tables against {@code kv} once. */
    void use(AttentionBatch b, KvLayer kv) {
        if (b != batch) {
            upload(b);
        }
        if (kv.blockSize() != validatedBlockSize || kv.numBlocks() != validatedBlocks) {
            validate(b, kv);
            validatedBlockSize = kv.blockSize();
            validatedBlocks = kv.numBlocks();
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
            int n = b.totalRows();
            int seqs = b.sequences().size();
            long tables = 0;
            for (SequenceSlice s : b.sequences()) tables += s.blockTable().length;
            PrefillTiling plan = PrefillTiling.of(b);
            long total = 2L * n + seqs + tables + plan.tiles().length + plan.splitRows().length;
            if (total > Integer.MAX_VALUE / 4) {
                throw new IllegalArgumentException("attention batch too large: " + total + " ints");
            }
            int[] host = new int[(int) total];
            int max = 0;
            int at = 2 * n + seqs;
            for (int s = 0; s < seqs; s++) {
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

        /** Whether the split rows are all the rows in order (the kernel then needs no map). */
        boolean splitRowsAreAll() {
            return tiling.splitRows().length == rows;
        }
    }

    private void upload(AttentionBatch b) {
        batch = null;
        validatedBlockSize = 0;
        Layout layout = Layout.of(b);
        int[] host = layout.ints();
        if (ints == null || ints.bytes() < 4L * host.length) {
            if (ints != null) ints.close();
            ints = null;
            ints = DeviceBuffer.allocate(Math.max(4096, 8L * host.length));
        }
        if (host.length > 0) {                                    // pinned, asynchronous on the stream
            staging.begin(4L * host.length);
            staging.putInts(0, host, 0, host.length);
            staging.upload(ints.ptr(), 4L * host.length);
        }
        rows = layout.rows();
        maxLength = layout.maxLength();
        tiling = layout.tiling();
        tilesOffset = layout.tilesOffset();
        splitRowsAreAll = layout.splitRowsAreAll();
        batch = b;
    }

    private static void validate(AttentionBatch b, KvLayer kv) {
        for (SequenceSlice seq : b.sequences()) {
            if (seq.rows() == 0) continue;
            int needed = (seq.endPosition() - 1) / kv.blockSize() + 1;
            if (seq.blockTable().length < needed) {
                throw new IllegalArgumentException("attention batch: block table of " + seq.blockTable().length
                        + " blocks cannot hold position " + (seq.endPosition() - 1) + " with block size "
                        + kv.blockSize());
            }
            for (int i = 0; i < needed; i++) {
                int block = seq.blockTable()[i];
                if (block < 0 || block >= kv.numBlocks()) {
                    throw new IllegalArgumentException("attention batch: block " + block + " outside the cache's "
                            + kv.numBlocks() + " blocks");
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
        return ints.ptr() + 4L * (2L * rows + batch.sequences().size());
    }

    @Override
    public void close() {
        batch = null;
        staging.close();
        if (ints != null) {
            DeviceBuffer b = ints;
            ints = null;
            b.close();
        }
    }
}
