package dev.shardline.proto.stage.v1.codec;

import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.MicroBatchHeader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Rebuilds one micro-batch's hidden state as its chunks arrive on a Forward stream: created from the header, fed
 * each chunk in turn ({@link #accept}), then {@link #finish}ed. Every step checks the chunking contract (step id,
 * chunk order, sizes, count) and throws {@link ActivationFormatException} naming the step on a violation.
 * Not thread-safe: one per micro-batch being received.
 */
public final class ActivationAssembler {
    private final long stepId;
    private final ActivationDtype dtype;
    private final int element;
    private final long totalBytes;
    private final int chunkCount;
    private final float[] hidden; // [rows, cols]
    private int chunksSeen;
    private long bytesSeen;

    private ActivationAssembler(long stepId, ActivationDtype dtype, int element, long totalBytes, int chunkCount,
                                float[] hidden) {
        this.stepId = stepId;
        this.dtype = dtype;
        this.element = element;
        this.totalBytes = totalBytes;
        this.chunkCount = chunkCount;
        this.hidden = hidden;
    }

    /** Checks the header's shape fields and prepares the [hidden_rows, hidden_cols] buffer. */
    public static ActivationAssembler forHeader(MicroBatchHeader header) {
        long step = header.getStepId();
        if (step <= 0) {
            throw new ActivationFormatException(step, "step_id must be > 0");
        }
        int rows = header.getHiddenRows();
        int cols = header.getHiddenCols();
        if (rows < 0 || cols < 0) {
            throw new ActivationFormatException(step, "hidden shape [" + rows + ", " + cols + "] is negative");
        }
        long count = (long) rows * cols;
        if (count > Integer.MAX_VALUE - 8) {
            throw new ActivationFormatException(step, "hidden shape [" + rows + ", " + cols + "] is too large");
        }
        if (rows > 0 && header.getEntriesCount() > 0) {
            long entryRows = 0;
            for (BatchEntry entry : header.getEntriesList()) {
                entryRows += entry.getRows();
            }
            if (entryRows != rows) {
                throw new ActivationFormatException(step, "entries hold " + entryRows + " rows, hidden_rows is "
                        + rows);
            }
        }
        if (count == 0) {
            if (header.getActivationBytes() != 0 || header.getChunkCount() != 0) {
                throw new ActivationFormatException(step, "empty hidden state but activation_bytes "
                        + header.getActivationBytes() + " and chunk_count " + header.getChunkCount());
            }
            return new ActivationAssembler(step, header.getHiddenDtype(), 1, 0, 0, new float[0]);
        }
        ActivationDtype dtype = header.getHiddenDtype();
        if (dtype != ActivationDtype.ACTIVATION_DTYPE_BF16 && dtype != ActivationDtype.ACTIVATION_DTYPE_F32) {
            throw new ActivationFormatException(step, "hidden_dtype must be BF16 or F32, got " + dtype);
        }
        int element = ActivationCodec.elementBytes(dtype);
        long expected = count * element;
        if (header.getActivationBytes() != expected) {
            throw new ActivationFormatException(step, "activation_bytes is " + header.getActivationBytes()
                    + ", shape [" + rows + ", " + cols + "] in " + dtype + " needs " + expected);
        }
        int chunks = header.getChunkCount();
        if (chunks < 1 || chunks > count) {
            throw new ActivationFormatException(step, "chunk_count " + chunks + " must be in [1, " + count + "]");
        }
        return new ActivationAssembler(step, dtype, element, expected, chunks, new float[(int) count]);
    }

    /**
     * Adds the next chunk.
     *
     * @throws ActivationFormatException for a chunk of another step, out of order, beyond chunk_count, not a
     *                                   whole number of elements, or overrunning activation_bytes
     */
    public void accept(ActivationChunk chunk) {
        if (chunk.getStepId() != stepId) {
            throw new ActivationFormatException(stepId, "got a chunk of step " + chunk.getStepId()
                    + " while expecting chunk " + chunksSeen + " of this step");
        }
        if (chunksSeen == chunkCount) {
            throw new ActivationFormatException(stepId, "extra chunk " + chunk.getChunkIndex() + ": the header "
                    + "announced " + chunkCount + " chunks");
        }
        if (chunk.getChunkIndex() != chunksSeen) {
            throw new ActivationFormatException(stepId, "chunk " + chunk.getChunkIndex() + " arrived where chunk "
                    + chunksSeen + " was expected (of " + chunkCount + ")");
        }
        int size = chunk.getData().size();
        if (size == 0 || size % element != 0) {
            throw new ActivationFormatException(stepId, "chunk " + chunksSeen + " holds " + size
                    + " bytes, not a positive multiple of " + element + " (" + dtype + ")");
        }
        if (bytesSeen + size > totalBytes) {
            throw new ActivationFormatException(stepId, "chunk " + chunksSeen + " overruns activation_bytes "
                    + totalBytes + " (" + (bytesSeen + size) + " bytes so far)");
        }
        ByteBuffer buf = chunk.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        int offset = (int) (bytesSeen / element);
        int n = size / element;
        if (element == 4) {
            buf.asFloatBuffer().get(hidden, offset, n);
        } else {
            for (int i = 0; i < n; i++) {
                hidden[offset + i] = ActivationCodec.bf16ToFloat(buf.getShort(buf.position() + i * 2));
            }
        }
        bytesSeen += size;
        chunksSeen++;
    }

    /** Whether every announced chunk has arrived. */
    public boolean isComplete() {
        return chunksSeen == chunkCount;
    }

    /** The step this micro-batch belongs to. */
    public long stepId() {
        return stepId;
    }

    /**
     * The hidden state [hidden_rows, hidden_cols].
     *
     * @throws ActivationFormatException when chunks are missing or the bytes fall short of activation_bytes
     */
    public float[] finish() {
        if (chunksSeen != chunkCount) {
            throw new ActivationFormatException(stepId, "missing chunks: got " + chunksSeen + " of " + chunkCount);
        }
        if (bytesSeen != totalBytes) {
            throw new ActivationFormatException(stepId, "chunks hold " + bytesSeen + " bytes, activation_bytes is "
                    + totalBytes);
        }
        return hidden;
    }
}
