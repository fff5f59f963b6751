package dev.shardline.worker.stage;

import dev.shardline.model.config.ConfigKeyException;
import dev.shardline.worker.config.WorkerConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerConfigTest {
    @Test
    void flagsOverrideEnvironment() {
        WorkerConfig c = WorkerConfig.parse(
                Map.of("SHARDLINE_WORKER_THREADS", "4", "SHARDLINE_WORKER_MODEL", "/m", "PATH", "/bin"),
                Map.of("coordinator", "127.0.0.1:7000", "threads", "2", "memory-budget", "1.5G"));
        assertEquals(2, c.threads());
        assertEquals("/m", c.model().toString());
        assertEquals((long) (1.5 * (1L << 30)), c.memoryBudgetBytes());
        assertEquals("cpu", c.backend());
    }

    @Test
    void unknownAndBadKeysFailNamingTheKey() {
        ConfigKeyException env = assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(
                Map.of("SHARDLINE_WORKER_THREDS", "4"), Map.of("coordinator", "h:1", "model", "/m")));
        assertEquals("threds", env.key());
        assertTrue(env.getMessage().contains("SHARDLINE_WORKER_THREDS"));
        assertEquals("threads", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of(),
                Map.of("coordinator", "h:1", "model", "/m", "threads", "two"))).key());
        assertEquals("memory-budget", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of(),
                Map.of("coordinator", "h:1", "model", "/m", "memory-budget", "lots"))).key());
        assertEquals("coordinator", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of(),
                Map.of("model", "/m"))).key());
        assertEquals("backend", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of(),
                Map.of("coordinator", "h:1", "model", "/m", "backend", "tpu"))).key());
        assertEquals("cuda", WorkerConfig.parse(Map.of(),
                Map.of("coordinator", "h:1", "model", "/m", "backend", "cuda")).backend());
        assertEquals("reference", WorkerConfig.parse(Map.of("SHARDLINE_WORKER_BACKEND", "reference"),
                Map.of("coordinator", "h:1", "model", "/m")).backend());
    }
}
