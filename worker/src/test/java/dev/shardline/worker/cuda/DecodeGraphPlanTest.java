package dev.shardline.worker.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which steps run as decode graphs, their bucket and split count: decided without a GPU. */
class DecodeGraphPlanTest {

    private static final DecodeGraphPlan ON = new DecodeGraphPlan(true, 32, false);

    @Test
    void bucketsArePowersOfTwoUpToTheMaximum() {
        assertEquals(List.of(1, 2, 4, 8, 16, 32), ON.buckets());
        assertEquals(List.of(1), new DecodeGraphPlan(true, 1, false).buckets());
        int[][] cases = {{1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {9, 16}, {17, 32}, {32, 32}};
        for (int[] c : cases) {
            DecodeGraphPlan.Choice choice = ON.choose(c[0], c[0]);
            assertTrue(choice.graph(), "decode step of " + c[0]);
            assertEquals(c[1], choice.bucket(), "bucket of " + c[0] + " rows");
        }
    }

    @Test
    void onlyDecodeOnlyStepsWithinTheMaximumQualify() {
        assertEquals("prefill rows in the step", ON.choose(3, 10).reason());
        assertEquals("33 rows > cuda-graph-max-batch 32", ON.choose(33, 33).reason());
        assertFalse(ON.choose(0, 0).graph());
        assertEquals("cuda-graphs=false", DecodeGraphPlan.OFF.choose(1, 1).reason());
        assertFalse(new DecodeGraphPlan(true, 32, true).choose(1, 1).graph(), "cuda-debug-sync cannot be captured");
        assertEquals(0, DecodeGraphPlan.OFF.choose(4, 4).bucket());
    }

    @Test
    void theMaximumMustBeAPowerOfTwoWithinTheLimit() {
        for (int bad : new int[] {0, 3, 48, 512, -1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new DecodeGraphPlan(true, bad, false));
            assertTrue(e.getMessage().contains("cuda-graph-max-batch"), e.getMessage());
        }
    }

    @Test
    void splitsMirrorTheNativeChoice() {
        // sl_attention_splits: min(ceil(len / 128), 1024 / (rows x kvHeads), 128), at least 1
        assertEquals(1, DecodeGraphPlan.splits(1, 8, 100));
        assertEquals(3, DecodeGraphPlan.splits(1, 8, 300));
        assertEquals(128, DecodeGraphPlan.splits(1, 8, 100_000));
        assertEquals(4, DecodeGraphPlan.splits(32, 8, 100_000));          // 1024 / 256
        assertEquals(1, DecodeGraphPlan.splits(256, 8, 100_000));         // 1024 / 2048 = 0 -> 1
        assertEquals(128, DecodeGraphPlan.splits(1, 1, 1_000_000));       // capped
    }

    @Test
    void aGraphRoundsTheSplitsUpToAPowerOfTwoCappedWhereLengthAddsNone() {
        assertEquals(1, DecodeGraphPlan.graphSplits(1, 8, 1));
        assertEquals(4, DecodeGraphPlan.graphSplits(1, 8, 300));          // 3 -> 4
        assertEquals(4, DecodeGraphPlan.graphSplits(1, 8, 512));
        assertEquals(8, DecodeGraphPlan.graphSplits(1, 8, 513));
        assertEquals(128, DecodeGraphPlan.graphSplits(1, 8, 9000));       // 71 -> 128
        assertEquals(4, DecodeGraphPlan.graphSplits(32, 8, 9000));        // saturated at 1024 / 256
        assertEquals(6, DecodeGraphPlan.graphSplits(16, 10, 100_000));    // 6 would round to 8; 1024 / 160 = 6
        assertEquals(4, DecodeGraphPlan.graphSplits(16, 10, 400));        // 4 below the cap: as eager
    }

    @Test
    void aGraphNeverHasFewerSplitsThanEagerAndItsLaunchLengthGivesExactlyItsSplits() {
        int distinct = 0;
        for (int rows : new int[] {1, 2, 4, 8, 16, 32, 64, 128, 256}) {
            for (int kvHeads : new int[] {1, 2, 4, 8}) {
                java.util.Set<Integer> graphs = new java.util.HashSet<>();
                for (int len = 1; len <= 40_000; len += 37) {
                    int g = DecodeGraphPlan.graphSplits(rows, kvHeads, len);
                    assertTrue(g >= DecodeGraphPlan.splits(rows, kvHeads, len), rows + " rows, length " + len);
                    assertEquals(g, DecodeGraphPlan.splits(rows, kvHeads, DecodeGraphPlan.launchLength(g)));
                    graphs.add(g);
                }
                assertTrue(graphs.size() <= 8, rows + " rows x " + kvHeads + " kv heads: " + graphs);
                distinct += graphs.size();
            }
        }
        assertTrue(distinct > 36);
    }

    @Test
    void theHeadJoinsTheGraphsUnlessSwitchedOff() {
        assertTrue(ON.head());
        assertTrue(DecodeGraphPlan.OFF.head(), "the switch only matters with graphs on");
        DecodeGraphPlan layersOnly = new DecodeGraphPlan(true, 32, false, false);
        assertFalse(layersOnly.head());
        assertEquals(ON.choose(5, 5), layersOnly.choose(5, 5), "the head switch does not change the layers' graphs");
    }
}
