package dev.shardline.coordinator.batch;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchLineTest {

    private static BatchLine read(String s) {
        return BatchLine.read(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aLineWithoutAnIdIsADeadLetter() {
        assertTrue(assertInstanceOf(BatchLine.Unreadable.class, read("{not json")).reason().startsWith("not JSON"));
        assertTrue(assertInstanceOf(BatchLine.Unreadable.class, read("[1,2]")).reason().contains("JSON object"));
        assertTrue(assertInstanceOf(BatchLine.Unreadable.class, read("{\"url\":\"/v1/completions\"}")).reason()
                .startsWith("custom_id"));
        assertTrue(assertInstanceOf(BatchLine.Unreadable.class, read("{\"custom_id\":7}")).reason().startsWith("custom_id"));
        assertInstanceOf(BatchLine.Unreadable.class, BatchLine.read(null));
    }

    @Test
    void aLineWithAnIdIsAnsweredEvenWhenWrong() {
        BatchLine.Readable ok = assertInstanceOf(BatchLine.Readable.class, read(
                "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"hi\"}}"));
        assertNull(ok.problem());
        assertEquals(Map.of("prompt", "hi"), ok.body());
        assertEquals("/v1/completions", ok.url());
        assertTrue(assertInstanceOf(BatchLine.Readable.class, read("{\"custom_id\":\"a\",\"method\":\"GET\",\"url\":\"/v1/completions\",\"body\":{}}"))
                .problem().startsWith("method:"));
        assertTrue(assertInstanceOf(BatchLine.Readable.class, read("{\"custom_id\":\"a\",\"body\":{}}")).problem().startsWith("url:"));
        assertTrue(assertInstanceOf(BatchLine.Readable.class, read("{\"custom_id\":\"a\",\"url\":\"/v1/completions\",\"body\":3}"))
                .problem().startsWith("body:"));
    }

    @Test
    void backlogIsLagTimesTheMeanOrExact() {
        assertEquals(new Backlog(10, 250, false), Backlog.estimate(10, 4, 100, false));
        assertEquals(new Backlog(3, 60, true), Backlog.estimate(3, 2, 40, true));
        assertEquals(new Backlog(0, 0, false), Backlog.estimate(0, 0, 0, true));
    }
}
