package dev.shardline.model.sampling;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopCheckerTest {
    @Test
    void stopInsideOneDelta() {
        StopChecker c = new StopChecker(List.of("STOP"));
        assertEquals(new StopChecker.Result("hello ", true, "STOP"), c.push("hello STOP world"));
        assertTrue(c.stopped());
        assertEquals(new StopChecker.Result("", true, null), c.push("more"));
        assertEquals("", c.finish());
    }

    @Test
    void stopSpreadOverDeltasHoldsBackOnlyThePossiblePrefix() {
        StopChecker c = new StopChecker(List.of("\n\nUser:", "END"));
        assertEquals(new StopChecker.Result("The answer", false, null), c.push("The answer\n"));
        assertEquals(new StopChecker.Result("", false, null), c.push("\nUs"));
        assertEquals(new StopChecker.Result("", true, "\n\nUser:"), c.push("er: next"));
    }

    @Test
    void falseAlarmIsReleased() {
        StopChecker c = new StopChecker(List.of("</stop>"));
        assertEquals(new StopChecker.Result("a ", false, null), c.push("a </st"));
        assertEquals(new StopChecker.Result("</start> b", false, null), c.push("art> b"));
        assertEquals(new StopChecker.Result("x ", false, null), c.push("x <"));
        assertEquals("<", c.finish());
        assertFalse(c.stopped());
    }

    @Test
    void charByCharFindsTheEarliestStop() {
        StopChecker c = new StopChecker(List.of("bcd", "cx", "abcz"));
        StringBuilder out = new StringBuilder();
        String stop = null;
        for (char ch : "xxabcxbcd".toCharArray()) {
            StopChecker.Result r = c.push(String.valueOf(ch));
            out.append(r.text());
            if (r.stopped()) {
                stop = r.stop();
                break;
            }
        }
        assertEquals("xxab", out.toString());
        assertEquals("cx", stop);
    }

    @Test
    void noStopStringsPassEverythingThrough() {
        StopChecker c = new StopChecker(List.of());
        assertEquals(new StopChecker.Result("abc", false, null), c.push("abc"));
        assertEquals("", c.finish());
    }

    @Test
    void emptyStopStringIsRejected() {
        InvalidSamplingException e = assertThrows(InvalidSamplingException.class, () -> new StopChecker(List.of("")));
        assertEquals("stop", e.field());
    }
}
