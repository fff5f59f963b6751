package dev.shardline.cli.gpucheck;

import dev.shardline.model.json.Json;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * PyTorch's bf16 matmul TFLOP/s on the same GPU, measured by {@code tools/gpucheck/torch_matmul.py} in a
 * subprocess with a time limit. Never throws: without python3, torch, CUDA or the script it says why.
 */
final class TorchProbe {
    static final String SCRIPT = "tools/gpucheck/torch_matmul.py";

    /** {@code tflops} is NaN when nothing was measured; {@code message} says what ran or why not. */
    record Result(double tflops, String message) {
        boolean measured() {
            return !Double.isNaN(tflops);
        }
    }

    private TorchProbe() {
    }

    static Result measure(int m, int n, int k, long timeoutSeconds) {
        Path script = findScript();
        if (script == null) {
            return new Result(Double.NaN, "PyTorch not measured: " + SCRIPT + " not found");
        }
        Path output = null;
        try {
            output = Files.createTempFile("shardline-torch", ".out");
            Process p = new ProcessBuilder("python3", script.toString(), "--m", "" + m, "--n", "" + n, "--k", "" + k)
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(Double.NaN, "PyTorch not measured: " + SCRIPT + " ran past " + timeoutSeconds + " s");
            }
            String out = Files.readString(output, StandardCharsets.UTF_8).strip();
            String last = out.isEmpty() ? "" : out.substring(out.lastIndexOf('\n') + 1);
            if (!last.startsWith("{")) {
                return new Result(Double.NaN, "PyTorch not present (python3 exited " + p.exitValue() + ": "
                        + abbreviate(out) + ")");
            }
            Map<String, Object> json = Json.parseObject(last);
            if (json.containsKey("error")) {
                return new Result(Double.NaN, String.valueOf(json.get("error")));
            }
            double tflops = ((Number) json.get("tflops")).doubleValue();
            return new Result(tflops, "torch " + json.get("torch") + " on " + json.get("device"));
        } catch (IOException e) {
            return new Result(Double.NaN, "PyTorch not present (cannot run python3: " + e.getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Double.NaN, "PyTorch not measured: interrupted");
        } catch (RuntimeException e) {
            return new Result(Double.NaN, "PyTorch not measured: " + Report.describe(e));
        } finally {
            if (output != null) {
                try {
                    Files.deleteIfExists(output);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    /**
     * The script under the working directory, or under a parent of the jar/classes directory (cli/target/...), or
     * beside the bundle's lib/ directory (pack-for-device.sh puts it there).
     */
    static Path findScript() {
        List<Path> roots = new ArrayList<>();
        roots.add(Path.of("").toAbsolutePath());
        try {
            Path code = Path.of(TorchProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path p = code; p != null; p = p.getParent()) roots.add(p);
        } catch (URISyntaxException | RuntimeException ignored) {
            // no code source: the working directory is the only candidate
        }
        for (Path root : roots) {
            for (Path s : List.of(root.resolve(SCRIPT), root.resolve(Path.of(SCRIPT).getFileName()))) {
                if (Files.isRegularFile(s)) return s;
            }
        }
        return null;
    }

    private static String abbreviate(String s) {
        String one = s.replace('\n', ' ').replace('|', '/');
        return one.length() > 160 ? one.substring(0, 160) + "..." : one;
    }
}
