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

/** Backend cuda is CudaKernels on a GPU and a start-up error quoting the driver without one; never a silent CPU fallback. */
class CudaBackendTest {

    @Test
    void backendCudaIsTheGpuKernelsOrFailsWithTheDriversMessage() {
        CudaAvailability probe = CudaRuntime.probe();
        if (probe.usable()) {
            try (CudaKernels kernels = CudaBackend.create(2)) {
                assertEquals("cuda", kernels.name());
                assertEquals(CudaKernels.GemmMode.PRECISE, kernels.gemmMode());
            }
            return;
        }
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> CudaBackend.create(2));
        assertEquals("backend cuda: no usable GPU: " + probe.message(), e.getMessage());
        assertEquals(e.getMessage(), assertThrows(CudaUnavailableException.class,
                CudaBackend::requireUsable).getMessage());
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
