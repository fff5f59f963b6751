package dev.shardline.coordinator.config;

import dev.shardline.model.config.ConfigKeyException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchConfigTest {

    private static CoordinatorConfig parse(Map<String, String> flags) {
        java.util.Map<String, String> f = new java.util.HashMap<>(flags);
        f.put("model", "/tmp/m");
        return CoordinatorConfig.parse(Map.of(), f);
    }

    @Test
    void offWithoutBootstrapAndPassesClientSettingsThrough() {
        assertFalse(parse(Map.of()).batch().enabled());
        CoordinatorConfig c = parse(Map.of("kafka-bootstrap", "k:9092", "kafka-group", "g", "kafka.security.protocol", "SASL_SSL",
                "kafka.sasl.mechanism", "PLAIN", "port", "7000"));
        assertTrue(c.batch().enabled());
        assertEquals("g", c.batch().group());
        assertEquals(Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "PLAIN"), c.batch().client());
        assertEquals("coordinator-127.0.0.1-7000", c.batch().instanceId(), "stable per host and port by default");
    }

    @Test
    void badKeysFailFastNamingTheKey() {
        assertEquals("kafka.sasl.mechanizm", assertThrows(ConfigKeyException.class, () ->
                parse(Map.of("kafka.sasl.mechanizm", "PLAIN"))).key());
        assertEquals("kafka.isolation.level", assertThrows(ConfigKeyException.class, () ->
                parse(Map.of("kafka.isolation.level", "read_uncommitted"))).key());
        assertEquals("kafka-bootstrapp", assertThrows(ConfigKeyException.class, () ->
                parse(Map.of("kafka-bootstrapp", "x"))).key());
        assertEquals("batch-test-crash", assertThrows(ConfigKeyException.class, () ->
                parse(Map.of("batch-test-crash", "after-commit:3"))).key(), "a test hook needs test-hooks=true");
        assertEquals("batch-test-crash", assertThrows(ConfigKeyException.class, () ->
                parse(Map.of("batch-test-crash", "sometime", "test-hooks", "true"))).key());
        assertEquals("before-commit:2,offsets-first", parse(Map.of("batch-test-crash", "before-commit:2,offsets-first",
                "test-hooks", "true")).batch().testCrash());
    }
}
