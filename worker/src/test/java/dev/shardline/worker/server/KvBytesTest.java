package dev.shardline.worker.server;

import dev.shardline.worker.config.WorkerConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The KV bytes a worker accounts against its memory budget: half for a cuda worker's bf16 cache. */
class KvBytesTest {

    private static WorkerConfig config(String backend, String kvDtype) {
        return WorkerConfig.parse(java.util.Map.of(), java.util.Map.of("coordinator", "127.0.0.1:1", "model",
                Path.of("/tmp/m").toString(), "backend", backend, "cuda-kv-dtype", kvDtype));
    }

    @Test
    void bf16CacheTakesTwoBytesPerElementF32AndHostBackendsFour() {
        int kvDim = TinyModel.CONFIG.kvDim();   // 2 kv heads x 16
        assertEquals(2L * kvDim * 2, AssignmentPlan.kvBytesPerTokenPerLayer(TinyModel.CONFIG, config("cuda", "bf16")));
        assertEquals(2L * kvDim * 4, AssignmentPlan.kvBytesPerTokenPerLayer(TinyModel.CONFIG, config("cuda", "f32")));
        assertEquals(2L * kvDim * 4, AssignmentPlan.kvBytesPerTokenPerLayer(TinyModel.CONFIG, config("cpu", "bf16")));
    }
}
