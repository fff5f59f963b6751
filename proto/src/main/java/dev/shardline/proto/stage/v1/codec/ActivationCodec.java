package dev.shardline.proto.stage.v1.codec;

import com.google.protobuf.UnsafeByteOperations;
import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.MicroBatchHeader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a hidden state [rows, cols] (row-major {@code float[]}) into the {@link ActivationChunk}s of one micro-batch
 * and back, following the chunking contract of {@code shardline.stage.v1}: elements little-endian in bf16 or f32,
 * every chunk a whole number of elements, and no chunk message (a serialized {@code StageMessage}) larger than
 * {@code max_message_bytes}.
 *
 * <p>bf16 is the high half of the float32 rounded to nearest, ties to even (NaN stays a quiet NaN): the same rule
 * as {@code dev.shardline.model.tensor.WeightTensor.floatToBf16}, repeated here because this module does not depend
 * on the model module. A 512 x 5120 prefill chunk is 5 MiB in bf16 (two 4 MiB messages), 10 MiB in f32.
 */
public final class ActivationCodec {

    /** gRPC's default inbound message limit, and the default {@code LayerAssignment.max_message_bytes}. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

    /**
     * Upper bound of a chunk message's bytes other than its data: the StageMessage and ActivationChunk tags and
     * lengths (at most 1 + 5 each), step_id (at most 1 + 10) and chunk_index (at most 1 + 5).
     */
    public static final int CHUNK_OVERHEAD_BYTES = 32;

    /** Smallest max message size the codec accepts (room for a few elements per chunk). */
    public static final int MIN_MAX_MESSAGE_BYTES = 64;

    private ActivationCodec() {
    }

    /** Bytes of one element on the wire: 2 for bf16, 4 for f32. */
    public static int elementBytes(ActivationDtype dtype) {
        return switch (dtype) {
            case ACTIVATION_DTYPE_BF16 -> 2;
            case ACTIVATION_DTYPE_F32 -> 4;
            default -> throw new IllegalArgumentException("activation dtype must be BF16 or F32, got " + dtype);
        };
    }

    /** Most data bytes one chunk may carry so that its message stays within maxMessageBytes. */
    public static int maxChunkDataBytes(int maxMessageBytes, ActivationDtype dtype) {
        if (maxMessageBytes < MIN_MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("max_message_bytes must be >= " + MIN_MAX_MESSAGE_BYTES + ", got "
                    + maxMessageBytes);
        }
        int element = elementBytes(dtype);
        return (maxMessageBytes - CHUNK_OVERHEAD_BYTES) / element * element;
    }

    /**
     * Encodes the first rows x cols values of hidden.
     *
     * @param stepId          the micro-batch's step id (> 0)
     * @param hidden          [rows, cols] row-major; may be longer (scratch buffers), the rest is ignored
     * @param maxMessageBytes the stream's max_message_bytes
     */
    public static EncodedActivations encode(long stepId, float[] hidden, int rows, int cols, ActivationDtype dtype,
                                            int maxMessageBytes) {
        if (stepId <= 0) {
            throw new IllegalArgumentException("step id must be > 0, got " + stepId);
        }
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("shape must not be negative, got [" + rows + ", " + cols + "]");
        }
        long count = (long) rows * cols;
        if (count > hidden.length) {
            throw new IllegalArgumentException("hidden holds " + hidden.length + " floats, shape [" + rows + ", "
                    + cols + "] needs " + count);
        }
        int element = elementBytes(dtype);
        int perChunk = maxChunkDataBytes(maxMessageBytes, dtype) / element; // elements per chunk
        List<ActivationChunk> chunks = new ArrayList<>();
        for (int start = 0, index = 0; start < count; start += perChunk, index++) {
            int n = (int) Math.min(perChunk, count - start);
            byte[] data = new byte[n * element];
            ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            if (element == 4) {
                buf.asFloatBuffer().put(hidden, start, n);
            } else {
                for (int i = 0; i < n; i++) {
                    buf.putShort(i * 2, floatToBf16(hidden[start + i]));
                }
            }
            chunks.add(ActivationChunk.newBuilder()
                    .setStepId(stepId)
                    .setChunkIndex(index)
                    .setData(UnsafeByteOperations.unsafeWrap(data)) // data is never touched again
                    .build());
        }
        return new EncodedActivations(dtype, rows, cols, count * element, chunks);
    }

    /** Decodes a whole micro-batch's activations: [hidden_rows, hidden_cols] row-major. */
    public static float[] decode(MicroBatchHeader header, List<ActivationChunk> chunks) {
        ActivationAssembler assembler = ActivationAssembler.forHeader(header);
        for (ActivationChunk chunk : chunks) {
            assembler.accept(chunk);
        }
        return assembler.finish();
    }

    /** float32 to bf16 bits, rounding to nearest, ties to even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** bf16 bits to float32 (exact). */
    public static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }
}
