package dev.shardline.model.gguf;

import dev.shardline.model.host.NativeQuantKernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Quantized weights are read in place: a Q8_0 model of about 270 MB loads and decodes in a JVM whose heap (64 MB)
 * and direct-memory limit (16 MB) together hold less than a third of it; a dequantized (f32) copy would need over
 * 1 GB. The weights stay in the file mapping, which neither limit counts.
 */
class ReadInPlaceTest {
    @TempDir
    Path dir;

    /** On cpu, and on cpu-int8, whose native kernels read the mapped blocks by address (ADR 0016). */
    @ParameterizedTest(name = "backend {0}")
    @ValueSource(strings = {"cpu", "cpu-int8"})
    void aModelLargerThanHeapPlusDirectMemoryLoadsAndRuns(String backend) throws IOException, InterruptedException {
        if (backend.equals("cpu-int8")) {
            assumeTrue(NativeQuantKernels.available(), () -> "backend cpu-int8 cannot run here: "
                    + NativeQuantKernels.unavailableReason().orElse(""));
        }
        Path model = dir.resolve("big-q8_0.gguf");
        BigQuantizedModel.write(model, 2048, 8192, 4, 512);
        long size = Files.size(model);
        long heap = 64L << 20;
        long direct = 16L << 20;
        assertTrue(size > 3 * (heap + direct), "model " + size + " bytes");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx64m", "-XX:MaxDirectMemorySize=16m",
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                ReadInPlaceMain.class.getName(), model.toString(), backend).redirectErrorStream(true).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) p.destroyForcibly();
        assertTrue(done, "child did not finish: " + out);
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().filter(l -> l.startsWith("tokens ")).toList();
        assertEquals(1, lines.size(), out);
        long weightBytes = Long.parseLong(lines.getFirst().replaceAll(".*weight bytes (\\d+).*", "$1"));
        assertTrue(weightBytes > 3 * (heap + direct), "the child read " + weightBytes + " bytes of weights per token");
    }
}
