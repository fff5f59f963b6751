package dev.shardline.worker.cuda;

import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.server.WorkerProcess;
import dev.shardline.worker.server.WorkerStartException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backend cuda is a start-up error quoting the driver when no GPU is usable; never a silent CPU fallback. */
class CudaBackendTest {

    @Test
    void backendCudaFailsWithTheDriversMessage() {
        CudaAvailability probe = CudaRuntime.probe();
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> CudaBackend.create(2));
        assertTrue(e.getMessage().contains(probe.message()), e.getMessage());
        if (probe.usable()) {
            assertTrue(e.getMessage().contains("not complete yet (issue 4)"), e.getMessage());
        } else {
            assertTrue(e.getMessage().startsWith("backend cuda: no usable GPU: "), e.getMessage());
            assertEquals(e.getMessage(), assertThrows(CudaUnavailableException.class,
                    CudaBackend::requireUsable).getMessage());
        }
    }

    @Test
    void aWorkerWithBackendCudaFailsAtStartWithoutAGpu(@TempDir Path model) {
        CudaAvailability probe = CudaRuntime.probe();
        WorkerConfig cfg = WorkerConfig.parse(Map.of(), Map.of("coordinator", "127.0.0.1:1",
                "model", model.toString(), "backend", "cuda"));
        List<String> log = new ArrayList<>();
        WorkerStartException e = assertThrows(WorkerStartException.class, () -> WorkerProcess.start(cfg, log::add));
        if (probe.usable()) {
            // the GPU passes the start check; this empty model directory is what fails
            assertTrue(e.getMessage().contains("cannot read the model"), e.getMessage());
            assertTrue(log.getFirst().startsWith("backend cuda: "), log.toString());
        } else {
            assertEquals("backend cuda: no usable GPU: " + probe.message(), e.getMessage());
            assertTrue(log.isEmpty(), log.toString());
        }
    }
}
