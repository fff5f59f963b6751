package dev.shardline.worker.cuda;

import dev.shardline.model.forward.DeviceDraw;
import dev.shardline.model.forward.GraphHead;
import dev.shardline.model.sampling.SampledToken;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The fixed layout of a padded head in a decode graph, and how its results become the rows' tokens. */
class HeadStagingTest {

    private static final DeviceDraw DRAW = new DeviceDraw(2f, 5, 1, 0, 0.25);

    @Test
    void theKindSaysWhichKernelsTheGraphLaunches() {
        assertEquals(1, HeadStaging.kind(true, false));
        assertEquals(2, HeadStaging.kind(false, true));
        assertEquals(3, HeadStaging.kind(true, true));
        assertThrows(IllegalArgumentException.class, () -> HeadStaging.kind(false, false));
        for (int k = 1; k <= 3; k++) {
            assertEquals(k != 2, HeadStaging.greedy(k), "kind " + k);
            assertEquals(k != 1, HeadStaging.drawn(k), "kind " + k);
        }
    }

    @Test
    void theResultBufferDependsOnTheBucketOnly() {
        assertEquals(8 * 2 + 8 * DeviceDraws.ROW_INTS, HeadStaging.outInts(8));
        assertEquals(16, HeadStaging.drawAt(8));
        assertEquals(HeadStaging.outInts(8), HeadStaging.drawAt(8) + 8 * DeviceDraws.ROW_INTS);
    }

    @Test
    void theEditCapacityGrowsRarelyAndKeepsTheParameterOffsetsOfABucket() {
        assertEquals(HeadStaging.MIN_EDITS, HeadStaging.editCapacity(1, 0));
        assertEquals(0, HeadStaging.editCapacity(0, 0), "no edits: nothing staged for them");
        assertEquals(HeadStaging.MIN_EDITS, HeadStaging.editCapacity(HeadStaging.MIN_EDITS, HeadStaging.MIN_EDITS));
        assertEquals(8192, HeadStaging.editCapacity(4097, HeadStaging.MIN_EDITS));
        assertEquals(8192, HeadStaging.editCapacity(10, 8192), "fewer edits keep the capacity");
        assertThrows(IllegalArgumentException.class, () -> HeadStaging.editCapacity(-1, 0));
        // a step's edit count moves the offsets after the edit ids; the capacity does not
        DeviceDraws.Layout a = DeviceDraws.Layout.of(8, HeadStaging.editCapacity(3, 0));
        DeviceDraws.Layout b = DeviceDraws.Layout.of(8, HeadStaging.editCapacity(300, 4096));
        assertEquals(a, b);
    }

    @Test
    void greedyRowsTakeTheArgmaxDrawnRowsTheDrawAndPaddingIsIgnored() {
        int rows = 4;                                   // 3 sequences padded to 4
        int[] raw = new int[HeadStaging.outInts(rows)];
        for (int r = 0; r < rows; r++) {
            raw[r] = 100 + r;                           // argmax ids
            raw[rows + r] = Float.floatToIntBits(-0.5f - r);
        }
        drawRow(raw, rows, 0, 7, 0);
        drawRow(raw, rows, 1, 8, DeviceTopLogprobs.NAN);   // declined
        drawRow(raw, rows, 2, 9, 0);
        drawRow(raw, rows, 3, 10, DeviceTopLogprobs.NAN);  // padding: never decoded
        GraphHead head = new GraphHead(() -> { }, null, 3, rows, 512, 300, new DeviceDraw[] {null, DRAW, DRAW}, null);
        SampledToken[] t = HeadStaging.tokens(head, raw);
        assertEquals(3, t.length);
        assertEquals(new SampledToken(100, -0.5f), t[0]);
        assertNull(t[1], "a declined draw");
        assertEquals(9, t[2].id());
        assertEquals(DeviceDraws.decode(java.util.Arrays.copyOfRange(raw, HeadStaging.drawAt(rows), raw.length), 2),
                t[2]);

        GraphHead greedy = new GraphHead(() -> { }, null, 2, rows, 512, 300, new DeviceDraw[2], null);
        SampledToken[] g = HeadStaging.tokens(greedy, raw);
        assertArrayEquals(new SampledToken[] {new SampledToken(100, -0.5f), new SampledToken(101, -1.5f)}, g);
        assertThrows(IllegalArgumentException.class, () -> HeadStaging.tokens(greedy, new int[HeadStaging.outInts(2)]));
    }

    /** Row r of the draw kernel's results: token id, flags, max 1, value 0.5, log-sum 0.25. */
    private static void drawRow(int[] raw, int rows, int r, int id, int flags) {
        int at = HeadStaging.drawAt(rows) + r * DeviceDraws.ROW_INTS;
        long sum = Double.doubleToRawLongBits(0.25);
        raw[at] = id;
        raw[at + 1] = flags;
        raw[at + 2] = Float.floatToIntBits(1f);
        raw[at + 3] = Float.floatToIntBits(0.5f);
        raw[at + 4] = (int) sum;
        raw[at + 5] = (int) (sum >>> 32);
    }
}
