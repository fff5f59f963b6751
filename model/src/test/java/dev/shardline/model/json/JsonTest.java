package dev.shardline.model.json;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {

    @Test
    void parsesNestedValuesKeepingKeyOrder() {
        Map<String, Object> m = Json.parseObject("{\"b\": [1, 2.5, \"x\\u00e9\\n\"], \"a\": {\"t\": true, \"n\": null}}");
        assertEquals(List.of("b", "a"), List.copyOf(m.keySet()));
        assertEquals(List.of(1L, 2.5, "x\u00e9\n"), m.get("b"));
        assertEquals(Boolean.TRUE, ((Map<?, ?>) m.get("a")).get("t"));
    }

    @Test
    void roundTripsThroughTheWriter() {
        Object v = Json.parse("{\"k\":[1,-2,3.25,\"q\\\"\",false,null,{}]}");
        assertEquals(v, Json.parse(Json.write(v)));
        assertEquals(v, Json.parse(Json.writePretty(v)));
    }

    @Test
    void rejectsDuplicateKeysWithPosition() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\"a\":1,\n\"a\":2}"));
        assertTrue(e.getMessage().contains("duplicate key \"a\""), e.getMessage());
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void rejectsMalformedDocuments() {
        for (String bad : List.of("", "{", "{\"a\" 1}", "[1,]", "{\"a\":1} x", "\"unterminated", "01x", "tru")) {
            assertThrows(JsonException.class, () -> Json.parse(bad), bad);
        }
    }
}
