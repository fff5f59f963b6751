package dev.shardline.worker.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loads the library on whatever machine runs the build and checks it reports cleanly what it finds. */
class CudaRuntimeTest {

    @Test
    void probeLoadsTheLibraryAndReportsWhatTheDriverSays() {
        CudaAvailability probe = CudaRuntime.probe();
        assertEquals(CudaLibraryTest.NVCC, probe.libraryLoaded(), probe.message());
        assertFalse(probe.message().isBlank());
        if (probe.usable()) {
            assertEquals(probe.deviceCount(), probe.devices().size());
        } else {
            // here: "CUDA driver version is insufficient for CUDA runtime version" (no driver) or no device
            assertEquals(0, probe.deviceCount(), probe.message());
            assertTrue(probe.devices().isEmpty());
        }
        assertEquals(probe, CudaRuntime.probe(), "a second probe must find the same");
    }

    @Test
    void withoutAGpuEveryCudaCallIsATypedErrorNamingTheOpAndTheDriverMessage() {
        CudaAvailability probe = CudaRuntime.probe();
        if (probe.usable()) {
            try (DeviceBuffer b = DeviceBuffer.allocate(1024)) {
                assertTrue(b.ptr() != 0);
                float[] back = new float[3];
                b.upload(new float[] {1, 2, 3});
                b.download(back);
                assertEquals(2f, back[1]);
            }
            return;
        }
        if (!probe.libraryLoaded()) {
            assertThrows(CudaUnavailableException.class, () -> DeviceBuffer.allocate(1024));
            return;
        }
        CudaException e = assertThrows(CudaException.class, () -> DeviceBuffer.allocate(1024));
        assertEquals("cudaMalloc(1024 bytes)", e.op());
        assertTrue(e.code() != 0);
        // the call quotes the runtime's words, which the probe's message (after its driver check) contains too
        assertTrue(probe.message().contains(CudaNative.errorString(e.code())), e.getMessage() + " vs " + probe.message());
        assertTrue(e.getMessage().contains(CudaNative.errorString(e.code())), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DeviceBuffer.allocate(0));
    }
}
