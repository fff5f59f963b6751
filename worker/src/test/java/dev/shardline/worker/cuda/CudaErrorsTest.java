package dev.shardline.worker.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The error mapping, checked without a GPU (the CUDA runtime's own error strings where the library loads). */
class CudaErrorsTest {

    @Test
    void kernelFaultsAreStickyAndOrdinaryErrorsAreNot() {
        for (int code : new int[] {700, 702, 710, 714, 715, 716, 717, 718, 719, 214}) {
            assertTrue(CudaErrors.sticky(code), "cudaError " + code);
        }
        for (int code : new int[] {0, 1, 2, 9, 35, 98, 100, 101, 209, 999}) {   // invalid value, out of memory, ...
            assertFalse(CudaErrors.sticky(code), "cudaError " + code);
        }
    }

    @Test
    void aFaultFoundLaterNamesTheOpLaunchedLast() {
        String m = CudaErrors.describe("read 4096 floats from the device", 700, "an illegal memory access was encountered",
                "matmul [27648, 5120] x 7", false);
        assertEquals("CUDA read 4096 floats from the device failed: an illegal memory access was encountered "
                + "(cudaError 700); kernel faults are reported late: the op launched last before this call was "
                + "matmul [27648, 5120] x 7 (set cuda-debug-sync=true to attribute faults exactly); the CUDA context "
                + "is unusable for the rest of this process: the backend is closed, restart the worker", m);
        String debug = CudaErrors.describe("attention 8 rows", 700, "an illegal memory access was encountered",
                "rope [8, 40, 128]", true);
        assertTrue(debug.contains("checked by a synchronisation right after this launch")
                && !debug.contains("rope"), debug);
        assertEquals("CUDA cudaMalloc(1024 bytes) failed: out of memory (cudaError 2)",
                CudaErrors.describe("cudaMalloc(1024 bytes)", 2, "out of memory", "add 5", false),
                "an ordinary error is the call's own: no culprit, the backend stays open");
    }

    @Test
    void exceptionsCarryOpCodeAndFatality() {
        CudaException oom = new CudaException("cudaMalloc(1024 bytes)", 2, "out of memory");
        assertEquals("cudaMalloc(1024 bytes)", oom.op());
        assertFalse(oom.fatal());
        assertNull(CudaException.fatalIn(new RuntimeException("step failed", oom)));
        CudaException fault = new CudaException("read ids", 719, "unspecified launch failure", "sample 4 x 152064", false);
        assertTrue(fault.fatal());
        assertSame(fault, CudaException.fatalIn(new IllegalStateException("forward", new RuntimeException(fault))));
        assertNull(CudaRuntime.fatalError(), "an exception built outside a CUDA call does not poison the process");
    }

    @Test
    void errorStringsComeFromTheCudaRuntimeWhereTheLibraryLoads() {
        if (!CudaRuntime.probe().libraryLoaded()) {
            System.out.println("CudaErrorsTest: the CUDA library is not built here; runtime strings not checked");
            return;
        }
        assertEquals("an illegal memory access was encountered", CudaNative.errorString(700));
        assertEquals("unspecified launch failure", CudaNative.errorString(719));
        assertEquals("out of memory", CudaNative.errorString(2));
    }
}
