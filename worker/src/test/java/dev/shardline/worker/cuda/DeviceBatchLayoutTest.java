package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.SequenceSlice;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ints the attention kernels read for a batch, laid out on the host (what DeviceBatch uploads). */
class DeviceBatchLayoutTest {

    @Test
    void rowsTablesTilesAndSplitRowsInOneArray() {
        // a decode row at 40, a 10-row chunk from 16 (flash tiles), a 3-row chunk (split kernel); QwQ heads
        AttentionBatch b = new AttentionBatch(List.of(
                new SequenceSlice(0, 1, 40, new int[] {7, 8, 9}),
                new SequenceSlice(1, 10, 16, new int[] {3, 4}),
                new SequenceSlice(11, 3, 0, new int[] {5})), 40, 8, 128, 0.1f);
        DeviceBatch.Layout l = DeviceBatch.Layout.of(b);
        int[] x = l.ints();
        int n = 14;
        assertEquals(n, l.rows());
        assertEquals(41, l.maxLength());
        assertArrayEquals(new int[] {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2}, Arrays.copyOfRange(x, 0, n));
        assertArrayEquals(new int[] {40, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 0, 1, 2},
                Arrays.copyOfRange(x, n, 2 * n));
        assertArrayEquals(new int[] {0, 3, 5}, Arrays.copyOfRange(x, 2 * n, 2 * n + 3));            // seqBt
        assertArrayEquals(new int[] {7, 8, 9, 3, 4, 5}, Arrays.copyOfRange(x, 2 * n + 3, 2 * n + 9));
        assertEquals(2 * n + 9, l.tilesOffset());
        assertArrayEquals(new int[] {1, 10}, Arrays.copyOfRange(x, l.tilesOffset(), l.tilesOffset() + 2));
        assertArrayEquals(new int[] {0, 11, 12, 13}, Arrays.copyOfRange(x, l.tilesOffset() + 2, x.length));
        assertFalse(l.splitRowsAreAll());
    }

    @Test
    void aDecodeBatchNeedsNoRowMap() {
        AttentionBatch b = new AttentionBatch(List.of(new SequenceSlice(0, 1, 5000, new int[400]),
                new SequenceSlice(1, 1, 3, new int[] {1})), 40, 8, 128, 0.1f);
        DeviceBatch.Layout l = DeviceBatch.Layout.of(b);
        assertEquals(0, l.tiling().tileCount());
        assertTrue(l.splitRowsAreAll());
    }

    @Test
    void rowsOutsideTheBatchAreRefused() {
        AttentionBatch b = new AttentionBatch(List.of(new SequenceSlice(0, 1, 0, new int[] {0}),
                new SequenceSlice(3, 2, 0, new int[] {1})), 4, 2, 16, 0.25f);
        assertThrows(IllegalArgumentException.class, () -> DeviceBatch.Layout.of(b));
    }

    @Test
    void aPaddedDecodeBatchHasTheBucketsRowsAndSequencesWithOffsetsThatDependOnTheBucketOnly() {
        AttentionBatch b = new AttentionBatch(List.of(new SequenceSlice(0, 1, 40, new int[] {7, 8, 9}),
                new SequenceSlice(1, 1, 3, new int[] {2})), 40, 8, 128, 0.1f);
        DeviceBatch.Layout l = DeviceBatch.Layout.of(b, 4);
        int[] x = l.ints();
        assertEquals(4, l.rows());
        assertEquals(41, l.maxLength());
        assertArrayEquals(new int[] {0, 1, 2, 3}, Arrays.copyOfRange(x, 0, 4));              // padding: own seq
        assertArrayEquals(new int[] {40, 3, -1, -1}, Arrays.copyOfRange(x, 4, 8));           // padding at -1
        assertArrayEquals(new int[] {0, 3, 0, 0}, Arrays.copyOfRange(x, 8, 12));             // seqBt
        assertArrayEquals(new int[] {7, 8, 9, 2}, Arrays.copyOfRange(x, 12, 16));            // from 2 x 4 + 4
        assertEquals(0, l.tiling().tileCount());
        assertArrayEquals(new int[] {0, 1, 2, 3}, l.tiling().splitRows());
        assertTrue(l.splitRowsAreAll(), "no row map: the kernel's arguments do not depend on the step");
        DeviceBatch.Layout other = DeviceBatch.Layout.of(new AttentionBatch(List.of(
                new SequenceSlice(0, 1, 900, new int[] {1, 2, 3, 4, 5, 6, 7, 8})), 40, 8, 128, 0.1f), 4);
        assertEquals(l.tilesOffset() - 4, other.tilesOffset() - 8, "block tables start at 3 x bucket either way");
    }

    @Test
    void onlyADecodeOnlyBatchWithinTheBucketIsPadded() {
        AttentionBatch prefill = new AttentionBatch(List.of(new SequenceSlice(0, 3, 0, new int[] {0})),
                4, 2, 16, 0.25f);
        assertThrows(IllegalArgumentException.class, () -> DeviceBatch.Layout.of(prefill, 4));
        AttentionBatch three = new AttentionBatch(List.of(new SequenceSlice(0, 1, 0, new int[] {0}),
                new SequenceSlice(1, 1, 0, new int[] {1}), new SequenceSlice(2, 1, 0, new int[] {2})),
                4, 2, 16, 0.25f);
        assertThrows(IllegalArgumentException.class, () -> DeviceBatch.Layout.of(three, 2));
        assertEquals(3, DeviceBatch.Layout.of(three, 0).rows());
    }
}
