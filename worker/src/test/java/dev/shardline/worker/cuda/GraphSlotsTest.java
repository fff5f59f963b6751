package dev.shardline.worker.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The decode graphs' life per shape: warm up, capture, replay, stale after a free, failed for good. */
class GraphSlotsTest {

    @Test
    void aShapeWarmsUpThenIsCapturedThenReplayed() {
        GraphSlots s = new GraphSlots();
        assertEquals(GraphSlots.Action.WARM_UP, s.decide(4, 2, 7).action());
        assertEquals(GraphSlots.Action.CAPTURE, s.decide(4, 2, 7).action());
        s.captured(4, 2, 99, 7);
        GraphSlots.Decision replay = s.decide(4, 2, 7);
        assertEquals(GraphSlots.Action.REPLAY, replay.action());
        assertEquals(99, replay.handle());
        assertEquals(List.of(), replay.free());
        assertEquals(GraphSlots.Action.WARM_UP, s.decide(4, 4, 7).action(), "another split count: another graph");
        assertEquals(GraphSlots.Action.WARM_UP, s.decide(8, 2, 7).action(), "another bucket: another graph");
        assertEquals(1, s.live());
    }

    @Test
    void aGraphCapturedBeforeAFreeIsDestroyedAndItsShapeWarmsUpAgain() {
        GraphSlots s = new GraphSlots();
        s.decide(1, 1, 0);
        s.decide(1, 1, 0);
        s.captured(1, 1, 5, 0);
        GraphSlots.Decision stale = s.decide(1, 1, 1);
        assertEquals(GraphSlots.Action.WARM_UP, stale.action());
        assertEquals(List.of(5L), stale.free());
        assertEquals(0, s.live());
        assertEquals(GraphSlots.Action.CAPTURE, s.decide(1, 1, 1).action());
        s.captured(1, 1, 6, 1);
        assertEquals(6, s.decide(1, 1, 1).handle());
    }

    @Test
    void aFailedShapeStaysEager() {
        GraphSlots s = new GraphSlots();
        s.decide(2, 1, 0);
        assertEquals(GraphSlots.Action.CAPTURE, s.decide(2, 1, 0).action());
        s.failed(2, 1, "capture unsupported");
        for (int i = 0; i < 3; i++) assertEquals(GraphSlots.Action.FAILED, s.decide(2, 1, 0).action());
    }

    @Test
    void theHeadKindIsPartOfTheShape() {
        GraphSlots s = new GraphSlots();
        s.decide(4, 2, 0);
        s.decide(4, 2, 0);
        s.captured(4, 2, 21, 0);                                   // the layers alone
        assertEquals(GraphSlots.Action.WARM_UP, s.decide(4, 2, 1, 0).action(), "a greedy head: another graph");
        s.decide(4, 2, 1, 0);
        s.captured(4, 2, 1, 22, 0);
        assertEquals(21, s.decide(4, 2, 0).handle());
        assertEquals(22, s.decide(4, 2, 1, 0).handle());
        s.failed(4, 2, 3, "draw not capturable");
        assertEquals(GraphSlots.Action.FAILED, s.decide(4, 2, 3, 0).action());
        assertEquals(22, s.decide(4, 2, 1, 0).handle(), "another kind's failure leaves this graph");
        GraphSlots.Decision stale = s.decide(4, 2, 1, 1);
        assertEquals(List.of(22L), stale.free(), "stale after a free like any graph");
        assertThrows(IllegalArgumentException.class, () -> GraphSlots.key(4, 2, 256));
    }

    @Test
    void clearHandsBackEveryGraph() {
        GraphSlots s = new GraphSlots();
        s.captured(1, 1, 11, 0);
        s.captured(2, 1, 12, 0);
        s.failed(4, 1, "x");
        assertEquals(List.of(11L, 12L), s.clear().stream().sorted().toList());
        assertEquals(0, s.live());
        assertEquals(GraphSlots.Action.WARM_UP, s.decide(4, 1, 0).action(), "a cleared failure may try again");
        assertThrows(IllegalArgumentException.class, () -> s.captured(1, 1, 0, 0));
    }
}
