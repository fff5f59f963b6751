package dev.shardline.worker.cuda;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The build's promise: with nvcc, the library is in the classpath (so in the jar) with sm_80..90 SASS and PTX. */
class CudaLibraryTest {
    static final boolean NVCC = Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"));

    @Test
    void libraryIsBuiltWithSassForEveryTargetAndPtxWhenNvccExists() throws Exception {
        try (InputStream in = CudaNative.class.getResourceAsStream(CudaNative.RESOURCE)) {
            if (!NVCC) {
                assertNull(in, "no nvcc here, yet " + CudaNative.RESOURCE + " is on the classpath");
                assertTrue(CudaRuntime.probe().message().contains("not in the worker jar"), CudaRuntime.probe().message());
                return;
            }
            assertNotNull(in, CudaNative.RESOURCE + " missing although nvcc exists");
            Set<String> entries = Fatbin.entries(in.readAllBytes());
            for (String e : Set.of("elf sm_80", "elf sm_86", "elf sm_89", "elf sm_90", "ptx sm_90")) {
                assertTrue(entries.contains(e), e + " not in the fatbin: " + entries);
            }
        }
        String log = Files.readString(Path.of("target/native/build.log"));
        assertTrue(log.startsWith("built ") && log.contains("sm_90"), log);
        assertFalse(log.contains("libcuda.so"), "the driver library must never be linked:\n" + log);
        assertFalse(log.contains("libcudart.so"), "cudart must be static:\n" + log);
    }
}
