package dev.shardline.coordinator.batch;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchInputTest {
    private static final String C = "/v1/completions";

    private static String line(String id, String url) {
        return "{\"custom_id\":\"" + id + "\",\"method\":\"POST\",\"url\":\"" + url + "\",\"body\":{\"prompt\":\"hi\"}}";
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> error(BatchInput in, int i) {
        return (Map<String, Object>) in.errors().get(i);
    }

    @Test
    void goodLinesAreKeptWithTheirIdsAndBlankLinesSkipped() {
        BatchInput in = BatchInput.check(line("a", C) + "\n\n" + line("b", C) + "\n", C);
        assertTrue(in.valid());
        assertEquals(List.of("a", "b"), in.lines().stream().map(l -> l[0]).toList());
        assertEquals(line("b", C), in.lines().get(1)[1]);
    }

    @Test
    void everyBadLineIsAnErrorNamingItsLineAndField() {
        BatchInput in = BatchInput.check(String.join("\n", line("a", C), "{not json", line("a", C),
                line("c", "/v1/chat/completions")), C);
        assertTrue(!in.valid());
        assertEquals(3, in.errors().size());
        assertEquals(2, error(in, 0).get("line"));
        assertEquals(3, error(in, 1).get("line"));
        assertEquals("custom_id", error(in, 1).get("param"));
        assertEquals(4, error(in, 2).get("line"));
        assertEquals("url", error(in, 2).get("param"));
        assertTrue(((String) error(in, 2).get("message")).contains("differs from the batch's endpoint"));
    }

    @Test
    void anEmptyFileFailsAndErrorsStopAtAHundred() {
        BatchInput empty = BatchInput.check("\n \n", C);
        assertEquals("empty_file", error(empty, 0).get("code"));
        BatchInput many = BatchInput.check("x\n".repeat(250), C);
        assertEquals(100, many.errors().size());
        assertEquals(1, error(many, 0).get("line"));
    }
}
