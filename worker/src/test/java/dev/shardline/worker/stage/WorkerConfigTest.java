package dev.shardline.worker.stage;

import dev.shardline.model.config.ConfigKeyException;
import dev.shardline.worker.config.WorkerConfig;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
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
        assertEquals("cpu-int8", WorkerConfig.parse(Map.of(),
                Map.of("coordinator", "h:1", "model", "/m", "backend", "cpu-int8")).backend());
        assertEquals("reference", WorkerConfig.parse(Map.of("SHARDLINE_WORKER_BACKEND", "reference"),
                Map.of("coordinator", "h:1", "model", "/m")).backend());
    }

    @Test
    void theWorkerIdDefaultsToTheHostName() throws Exception {
        Map<String, String> flags = Map.of("coordinator", "h:1", "model", "/m");
        assertEquals("shardline-worker-7f9c", WorkerConfig.parse(Map.of("HOSTNAME", "shardline-worker-7f9c"), flags)
                .workerId(), "a Kubernetes pod's name");
        assertEquals(InetAddress.getLocalHost().getHostName(), WorkerConfig.parse(Map.of(), flags).workerId());
        assertEquals("w-3", WorkerConfig.parse(Map.of("HOSTNAME", "pod"), Map.of("coordinator", "h:1", "model", "/m",
                "worker-id", "w-3")).workerId(), "an explicit id wins");
        assertEquals("worker-id", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of("HOSTNAME", "pod"),
                Map.of("coordinator", "h:1", "model", "/m", "worker-id", " "))).key());
    }

    @Test
    void drainTimeoutDefaultsTo120SecondsAndMustBePositive() {
        Map<String, String> base = Map.of("coordinator", "h:1", "model", "/m", "worker-id", "w");
        assertEquals(120_000, WorkerConfig.parse(Map.of(), base).drainTimeoutMs());
        assertEquals(5_000, WorkerConfig.parse(Map.of("SHARDLINE_WORKER_DRAIN_TIMEOUT_MS", "5000"), base).drainTimeoutMs());
        java.util.Map<String, String> zero = new java.util.HashMap<>(base);
        zero.put("drain-timeout-ms", "0");
        assertEquals("drain-timeout-ms", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of(), zero)).key());
        java.util.Map<String, String> typo = new java.util.HashMap<>(base);
        typo.put("drain-timeout", "5");
        assertEquals("drain-timeout", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of(), typo)).key());
    }

    @Test
    void loadNiceDefaultsTo10AndMustBe0To19() {
        Map<String, String> base = Map.of("coordinator", "h:1", "model", "/m", "worker-id", "w");
        assertEquals(10, WorkerConfig.parse(Map.of(), base).loadNice());
        assertEquals(0, WorkerConfig.parse(Map.of("SHARDLINE_WORKER_LOAD_NICE", "0"), base).loadNice());
        for (String bad : new String[]{"-1", "20"}) {
            java.util.Map<String, String> m = new java.util.HashMap<>(base);
            m.put("load-nice", bad);
            assertEquals("load-nice", assertThrows(ConfigKeyException.class, () -> WorkerConfig.parse(Map.of(), m)).key());
        }
    }
}
