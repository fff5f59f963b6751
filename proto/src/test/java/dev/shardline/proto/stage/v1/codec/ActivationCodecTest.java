package dev.shardline.proto.stage.v1.codec;

import dev.shardline.proto.stage.v1.ActivationChunk;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.StageMessage;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_BF16;
import static dev.shardline.proto.stage.v1.ActivationDtype.ACTIVATION_DTYPE_F32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationCodecTest {
    private static final int MIB = 1024 * 1024;

    @Test
    void f32RoundTripIsExactAcrossManyChunks() {
        int rows = 37;
        int cols = 129;
        float[] hidden = random(rows * cols, 1);
        hidden[0] = -0.0f;
        hidden[1] = Float.MIN_VALUE;
        hidden[2] = Float.MAX_VALUE;
        hidden[3] = Float.NEGATIVE_INFINITY;
        hidden[4] = Float.NaN;
        EncodedActivations enc = ActivationCodec.encode(7, hidden, rows, cols, ACTIVATION_DTYPE_F32, 1000);
        assertEquals((long) rows * cols * 4, enc.totalBytes());
        assertTrue(enc.chunks().size() > 10, "a 1000-byte limit must split " + enc.totalBytes() + " bytes");
        float[] back = ActivationCodec.decode(header(7, enc), enc.chunks());
        assertEquals(rows * cols, back.length);
        for (int i = 0; i < back.length; i++) {
            assertEquals(Float.floatToRawIntBits(hidden[i]), Float.floatToRawIntBits(back[i]), "element " + i);
        }
    }

    @Test
    void bf16RoundTripIsWithinBf16Rounding() {
        int rows = 16;
        int cols = 5120;
        float[] hidden = random(rows * cols, 2);
        EncodedActivations enc = ActivationCodec.encode(3, hidden, rows, cols, ACTIVATION_DTYPE_BF16,
                ActivationCodec.DEFAULT_MAX_MESSAGE_BYTES);
        assertEquals((long) rows * cols * 2, enc.totalBytes());
        float[] back = ActivationCodec.decode(header(3, enc), enc.chunks());
        for (int i = 0; i < back.length; i++) {
            // 8 significant bits: the nearest bf16 is within half a unit in the last place, 2^-8 relative
            float bound = Math.abs(hidden[i]) * 0x1p-8f;
            assertTrue(Math.abs(back[i] - hidden[i]) <= bound, "element " + i + ": " + hidden[i] + " -> " + back[i]);
            assertEquals(0, Float.floatToRawIntBits(back[i]) & 0xffff, "decoded value must be a bf16");
        }
        // encoding bf16 values again is exact
        EncodedActivations again = ActivationCodec.encode(4, back, rows, cols, ACTIVATION_DTYPE_BF16,
                ActivationCodec.DEFAULT_MAX_MESSAGE_BYTES);
        assertArrayEquals(back, ActivationCodec.decode(header(4, again), again.chunks()));
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1.0f, bf16(1.0f + 0x1p-8f), "tie between 1 and 1+2^-7 goes to the even 1");
        assertEquals(1.0f + 0x1p-6f, bf16(1.0f + 3 * 0x1p-8f), "tie between 1+2^-7 and 1+2^-6 goes to the even one");
        assertEquals(1.0f + 0x1p-7f, bf16(1.0f + 0x1p-8f + 0x1p-20f), "above the tie rounds up");
        assertEquals(-2.0f, bf16(-2.0f - 0x1p-8f), "below the half-way point rounds down in magnitude");
        assertEquals(Float.POSITIVE_INFINITY, bf16(Float.MAX_VALUE), "overflow rounds to infinity");
        assertEquals(Float.NEGATIVE_INFINITY, bf16(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(bf16(Float.NaN)));
        assertTrue(Float.isNaN(bf16(Float.intBitsToFloat(0x7f800001))), "a NaN with only low bits stays NaN");
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(bf16(-0.0f)));
    }

    @Test
    void prefillChunksNeverExceedTheMessageLimit() {
        int rows = 512;
        int cols = 5120;
        float[] hidden = random(rows * cols, 3);
        for (ActivationDtype dtype : List.of(ACTIVATION_DTYPE_BF16, ACTIVATION_DTYPE_F32)) {
            for (int limit : new int[] {4 * MIB, 1 * MIB, 64 * 1024}) {
                long step = Long.MAX_VALUE; // the widest step id varint
                EncodedActivations enc = ActivationCodec.encode(step, hidden, rows, cols, dtype, limit);
                long total = (long) rows * cols * ActivationCodec.elementBytes(dtype);
                assertEquals(total, enc.totalBytes());
                int full = ActivationCodec.maxChunkDataBytes(limit, dtype);
                assertTrue(full > limit - ActivationCodec.CHUNK_OVERHEAD_BYTES - 4, "chunks should be nearly full");
                assertEquals((total + full - 1) / full, enc.chunks().size(), dtype + " at " + limit);
                long sum = 0;
                for (ActivationChunk chunk : enc.chunks()) {
                    int size = StageMessage.newBuilder().setChunk(chunk).build().getSerializedSize();
                    assertTrue(size <= limit, dtype + " chunk " + chunk.getChunkIndex() + " is " + size
                            + " bytes, limit " + limit);
                    sum += chunk.getData().size();
                }
                assertEquals(total, sum);
                MicroBatchHeader header = header(step, enc);
                assertTrue(StageMessage.newBuilder().setHeader(header).build().getSerializedSize() <= limit);
                float[] back = ActivationCodec.decode(header, enc.chunks());
                assertEquals(hidden.length, back.length);
                if (dtype == ACTIVATION_DTYPE_F32) {
                    assertArrayEquals(hidden, back);
                } else {
                    assertEquals(bf16(hidden[rows * cols - 1]), back[rows * cols - 1]);
                }
            }
        }
    }

    @Test
    void bf16PrefillAtTheDefaultLimitIsTwoMessages() {
        EncodedActivations enc = ActivationCodec.encode(1, new float[512 * 5120], 512, 5120, ACTIVATION_DTYPE_BF16,
                ActivationCodec.DEFAULT_MAX_MESSAGE_BYTES);
        assertEquals(2, enc.chunks().size());
        assertEquals(5 * MIB, enc.totalBytes());
    }

    @Test
    void emptyHiddenStateHasNoChunks() {
        EncodedActivations enc = ActivationCodec.encode(9, new float[0], 0, 5120, ACTIVATION_DTYPE_BF16, 4 * MIB);
        assertTrue(enc.chunks().isEmpty());
        MicroBatchHeader header = header(9, enc);
        assertEquals(0, header.getChunkCount());
        assertEquals(0, ActivationCodec.decode(header, List.of()).length);
    }

    @Test
    void missingChunkIsReported() {
        Fixture f = new Fixture();
        ActivationAssembler a = ActivationAssembler.forHeader(f.header);
        a.accept(f.chunks.get(0));
        a.accept(f.chunks.get(1));
        assertFalse(a.isComplete());
        var e = assertThrows(ActivationFormatException.class, a::finish);
        assertEquals("step 5: missing chunks: got 2 of 3", e.getMessage());
        assertEquals(5, e.stepId());
    }

    @Test
    void outOfOrderChunkIsReported() {
        Fixture f = new Fixture();
        ActivationAssembler a = ActivationAssembler.forHeader(f.header);
        a.accept(f.chunks.get(0));
        var e = assertThrows(ActivationFormatException.class, () -> a.accept(f.chunks.get(2)));
        assertEquals("step 5: chunk 2 arrived where chunk 1 was expected (of 3)", e.getMessage());
        var dup = assertThrows(ActivationFormatException.class, () -> a.accept(f.chunks.get(0)));
        assertTrue(dup.getMessage().contains("chunk 0 arrived where chunk 1"), dup.getMessage());
    }

    @Test
    void chunkOfAnotherStepIsReported() {
        Fixture f = new Fixture();
        ActivationAssembler a = ActivationAssembler.forHeader(f.header);
        ActivationChunk foreign = f.chunks.get(0).toBuilder().setStepId(6).build();
        var e = assertThrows(ActivationFormatException.class, () -> a.accept(foreign));
        assertEquals("step 5: got a chunk of step 6 while expecting chunk 0 of this step", e.getMessage());
    }

    @Test
    void extraChunkIsReported() {
        Fixture f = new Fixture();
        List<ActivationChunk> chunks = new ArrayList<>(f.chunks);
        chunks.add(f.chunks.get(2).toBuilder().setChunkIndex(3).build());
        var e = assertThrows(ActivationFormatException.class, () -> ActivationCodec.decode(f.header, chunks));
        assertTrue(e.getMessage().contains("extra chunk 3: the header announced 3 chunks"), e.getMessage());
    }

    @Test
    void corruptChunkSizesAreReported() {
        Fixture f = new Fixture();
        ActivationAssembler a = ActivationAssembler.forHeader(f.header);
        ActivationChunk odd = f.chunks.get(0).toBuilder().setData(f.chunks.get(0).getData().substring(1)).build();
        var e = assertThrows(ActivationFormatException.class, () -> a.accept(odd));
        assertTrue(e.getMessage().contains("not a positive multiple of 2"), e.getMessage());

        // fewer bytes than announced: every chunk valid, the total short
        List<ActivationChunk> shortLast = new ArrayList<>(f.chunks);
        ActivationChunk last = f.chunks.get(2);
        shortLast.set(2, last.toBuilder().setData(last.getData().substring(0, last.getData().size() - 2)).build());
        var shortE = assertThrows(ActivationFormatException.class, () -> ActivationCodec.decode(f.header, shortLast));
        assertTrue(shortE.getMessage().contains("chunks hold"), shortE.getMessage());

        // more bytes than announced
        List<ActivationChunk> longLast = new ArrayList<>(f.chunks);
        longLast.set(2, last.toBuilder().setData(last.getData().concat(last.getData())).build());
        var longE = assertThrows(ActivationFormatException.class, () -> ActivationCodec.decode(f.header, longLast));
        assertTrue(longE.getMessage().contains("overruns activation_bytes"), longE.getMessage());
    }

    @Test
    void inconsistentHeadersAreReported() {
        Fixture f = new Fixture();
        var bytes = assertThrows(ActivationFormatException.class, () -> ActivationAssembler.forHeader(
                f.header.toBuilder().setActivationBytes(f.header.getActivationBytes() + 2).build()));
        assertTrue(bytes.getMessage().contains("activation_bytes is"), bytes.getMessage());
        var dtype = assertThrows(ActivationFormatException.class, () -> ActivationAssembler.forHeader(
                f.header.toBuilder().setHiddenDtype(ActivationDtype.ACTIVATION_DTYPE_UNSPECIFIED).build()));
        assertTrue(dtype.getMessage().contains("hidden_dtype must be BF16 or F32"), dtype.getMessage());
        var count = assertThrows(ActivationFormatException.class, () -> ActivationAssembler.forHeader(
                f.header.toBuilder().setChunkCount(0).build()));
        assertTrue(count.getMessage().contains("chunk_count 0"), count.getMessage());
        var rows = assertThrows(ActivationFormatException.class, () -> ActivationAssembler.forHeader(
                f.header.toBuilder().addEntries(BatchEntry.newBuilder().setSequenceId(1).setRows(3)).build()));
        assertEquals("step 5: entries hold 3 rows, hidden_rows is 4", rows.getMessage());
    }

    @Test
    void encodeRejectsBadArguments() {
        assertThrows(IllegalArgumentException.class,
                () -> ActivationCodec.encode(1, new float[10], 2, 8, ACTIVATION_DTYPE_F32, 4 * MIB));
        assertThrows(IllegalArgumentException.class,
                () -> ActivationCodec.encode(1, new float[16], 2, 8, ACTIVATION_DTYPE_F32, 32));
        assertThrows(IllegalArgumentException.class,
                () -> ActivationCodec.encode(0, new float[16], 2, 8, ACTIVATION_DTYPE_F32, 4 * MIB));
        assertThrows(IllegalArgumentException.class, () -> ActivationCodec.encode(1, new float[16], 2, 8,
                ActivationDtype.ACTIVATION_DTYPE_UNSPECIFIED, 4 * MIB));
    }

    /** 4 rows x 100 cols of bf16 (800 bytes) in chunks of at most 300 data bytes: 3 chunks. */
    private static final class Fixture {
        final MicroBatchHeader header;
        final List<ActivationChunk> chunks;

        Fixture() {
            EncodedActivations enc = ActivationCodec.encode(5, random(400, 4), 4, 100, ACTIVATION_DTYPE_BF16,
                    300 + ActivationCodec.CHUNK_OVERHEAD_BYTES);
            assertEquals(3, enc.chunks().size());
            header = header(5, enc);
            chunks = enc.chunks();
        }
    }

    static MicroBatchHeader header(long step, EncodedActivations enc) {
        return enc.describe(MicroBatchHeader.newBuilder().setPipelineId(0).setStepId(step)).build();
    }

    static float bf16(float f) {
        return ActivationCodec.bf16ToFloat(ActivationCodec.floatToBf16(f));
    }

    static float[] random(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * Math.pow(10, rnd.nextInt(-3, 4)));
        }
        return v;
    }
}
