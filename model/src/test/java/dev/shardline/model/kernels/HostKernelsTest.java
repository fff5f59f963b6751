package dev.shardline.model.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostKernelsTest {
    private final HostKernels kernels = new ReferenceKernels();

    @Test
    void allocateWriteCopyReadRoundTrip() {
        Activations a = kernels.allocate(8);
        Activations b = kernels.allocate(8);
        assertEquals(8, a.length());
        assertArrayEquals(new float[8], HostActivations.of(a), "allocated memory is zeroed");
        kernels.write(new float[] {1, 2, 3, 4, 5}, 1, a, 2, 3);          // a = 0 0 2 3 4 0 0 0
        kernels.copy(a, 2, b, 5, 3);                                      // b = 0 0 0 0 0 2 3 4
        float[] out = new float[4];
        kernels.read(b, 4, out, 0, 4);
        assertArrayEquals(new float[] {0, 2, 3, 4}, out);
    }

    @Test
    void oversizeAllocationNamesTheBackendAndTheLimit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> kernels.allocate(3L * Integer.MAX_VALUE));
        assertTrue(e.getMessage().contains("reference") && e.getMessage().contains("one Java array"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> kernels.allocate(-1));
    }

    @Test
    void foreignActivationsAreRefusedClearly() {
        Activations device = () -> 16;                                    // not heap memory
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> kernels.add(device, kernels.allocate(16), 16));
        assertTrue(e.getMessage().contains("allocate them with the same backend"), e.getMessage());
    }
}
