package dev.shardline.worker.cuda;

import dev.shardline.model.kernels.SequenceSlice;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Which rows the flash prefill kernel takes, in which tiles, and the tile size each head layout allows. */
class PrefillTilingTest {

    private static SequenceSlice seq(int rowStart, int rows, int firstPosition) {
        return new SequenceSlice(rowStart, rows, firstPosition, new int[(rows + firstPosition) / 16 + 1]);
    }

    @Test
    void tileRowsFollowTheKernelsLimits() {
        assertEquals(64, PrefillTiling.tileRows(2, 16));     // tiny: the row cap
        assertEquals(19, PrefillTiling.tileRows(5, 128));    // QwQ 40/8 x 128: 48 x 256 accumulators / 128 = 96 vectors
        assertEquals(18, PrefillTiling.tileRows(7, 64));     // Qwen2 0.5B 14/2 x 64: 128 vectors
        assertEquals(0, PrefillTiling.tileRows(32, 256));    // one row needs 8192 q floats + 16 KiB of K/V: too much
        assertEquals(0, PrefillTiling.tileRows(1, 300));     // beyond the head-dim limit
    }

    @Test
    void longSequencesAreCutIntoNearEqualTilesTheRestGoesToTheSplitKernel() {
        PrefillTiling t = PrefillTiling.plan(List.of(seq(0, 1, 500), seq(1, 40, 0), seq(41, 7, 9), seq(48, 19, 3)), 19);
        // 40 rows -> 3 tiles of 14, 13, 13; 19 rows -> one tile; 7 rows (< MIN_ROWS) and the decode row: split
        assertArrayEquals(new int[] {1, 14, 15, 13, 28, 13, 48, 19}, t.tiles());
        assertEquals(19, t.tileRows());
        assertArrayEquals(new int[] {0, 41, 42, 43, 44, 45, 46, 47}, t.splitRows());
        assertEquals(501, t.splitMaxLength());
    }

    @Test
    void withoutATileSizeEveryRowIsSplit() {
        PrefillTiling t = PrefillTiling.plan(List.of(seq(0, 30, 0), seq(30, 0, 5)), 0);
        assertEquals(0, t.tileCount());
        assertEquals(0, t.tileRows());
        assertEquals(30, t.splitRows().length);
        assertEquals(30, t.splitMaxLength());
    }

    @Test
    void aDecodeOnlyBatchHasNoTiles() {
        PrefillTiling t = PrefillTiling.plan(List.of(seq(0, 1, 4000), seq(1, 1, 7)), 19);
        assertEquals(0, t.tileCount());
        assertArrayEquals(new int[] {0, 1}, t.splitRows());
        assertEquals(4001, t.splitMaxLength());
    }

    @Test
    void javasLimitsAreTheNativeOnesWhereTheLibraryLoads() {
        try {
            CudaNative.ensureLoaded();
        } catch (CudaUnavailableException e) {
            return;   // no library in this build (no nvcc): nothing to compare with
        }
        for (int g : new int[] {1, 2, 5, 7, 8, 16, 32}) {
            for (int d : new int[] {16, 64, 80, 96, 128, 256, 257}) {
                for (int rows = 0; rows <= 65; rows++) {
                    assertEquals(PrefillTiling.fits(rows, g, d), CudaNative.flashPrefillFits(rows, 8 * g, 8, d),
                            "rows " + rows + ", G " + g + ", headDim " + d);
                }
            }
        }
    }
}
