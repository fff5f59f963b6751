package dev.shardline.worker.server;

import dev.shardline.worker.cuda.CudaException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Which step failures make a worker leave its pipeline (a sticky CUDA error) and which it only reports. */
class BackendFailureTest {

    @Test
    void onlyAStickyCudaErrorEndsTheStage() {
        assertNull(BackendFailure.of(new IllegalArgumentException("embed: token id 99999 outside the vocabulary"), "cuda"));
        assertNull(BackendFailure.of(new RuntimeException("x", new CudaException("cudaMalloc(8 bytes)", 2,
                "out of memory")), "cuda"), "out of memory fails the step, the GPU keeps serving");
        CudaException fault = new CudaException("read 8 floats from the device", 700,
                "an illegal memory access was encountered");
        assertEquals(fault.getMessage(), BackendFailure.of(new IllegalStateException("forward", fault), "cuda"));
        assertEquals(fault.getMessage(), BackendFailure.of(new IllegalStateException("forward", fault), "cpu"));
        assertNull(BackendFailure.of(new IllegalStateException("no cuda here"), "cpu"));
    }
}
