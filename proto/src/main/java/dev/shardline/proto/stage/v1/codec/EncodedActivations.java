package dev.shardline.proto.stage.v1.codec;

import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.MicroBatchHeader;

import java.util.List;

/**
 * A hidden state [rows, cols] cut into {@link ActivationChunk}s by {@link ActivationCodec#encode}, with the shape
 * fields its {@link MicroBatchHeader} must carry.
 *
 * @param dtype      element type on the wire
 * @param rows       rows of the hidden state (tokens of the micro-batch)
 * @param cols       columns (the model's hidden size)
 * @param totalBytes rows x cols x element size
 * @param chunks     the chunks, in order (empty when totalBytes is 0)
 */
public record EncodedActivations(ActivationDtype dtype, int rows, int cols, long totalBytes,
                                 List<ActivationChunk> chunks) {

    public EncodedActivations {
        chunks = List.copyOf(chunks);
    }

    /** Sets hidden_dtype, hidden_rows, hidden_cols, activation_bytes and chunk_count on the header; returns it. */
    public MicroBatchHeader.Builder describe(MicroBatchHeader.Builder header) {
        return header.setHiddenDtype(dtype)
                .setHiddenRows(rows)
                .setHiddenCols(cols)
                .setActivationBytes(totalBytes)
                .setChunkCount(chunks.size());
    }
}
