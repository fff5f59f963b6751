package dev.shardline.cli.gpucheck;

import dev.shardline.cli.CliRun;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.HostKernels;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.worker.cuda.CudaRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** gpu-check's harness proven on the CPU backend, against a deliberately broken backend, and without a GPU. */
class GpuCheckTest {
    @TempDir
    Path tmp;

    static CliRun main(String... args) {
        return CliRun.of(args);
    }

    /** The status cell of the first table row whose first cell is {@code first}. */
    static String status(String markdown, String first) {
        Matcher m = Pattern.compile("(?m)^\\| " + Pattern.quote(first) + " \\|(?:.*\\|)? ([A-Z ]*) \\|$").matcher(markdown);
        assertTrue(m.find(), "no row \"" + first + "\" in\n" + markdown);
        return m.group(1);
    }

    @Test
    void cpuBackendPassesEveryCheckOfEverySection() throws Exception {
        Path report = tmp.resolve("reports/gpu-check.md");
        CliRun r = main("gpu-check", "--backend", "cpu", "--shapes", "small", "--threads", "2", "--out", report.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        String md = Files.readString(report);
        assertEquals(r.out(), md, "--out holds the printed report");
        for (String s : new String[]{"## 1. Device", "## 2. Op checks", "## 3. End to end", "## 4. Timing", "## 5. Summary"}) {
            assertTrue(md.contains(s), s);
        }
        for (String op : new String[]{"write/copy/read", "embed", "rmsNorm", "matmul q T=1", "matmul down T=512",
                "matmul lm_head T=4", "rope q (YaRN)", "rope k (YaRN)", "attention decode", "attention mixed",
                "storeKv", "swiglu (in place)", "add", "tiny"}) {
            assertEquals("PASS", status(md, op), op);
        }
        assertFalse(md.contains("| FAIL |") || md.contains("ERROR"), md);
        assertEquals("NOT RUN", status(md, "prefill matmul"), "no PyTorch comparison on a CPU backend");
        assertTrue(status(md, "decode matmul gate").matches("MET|MISSED"));
        assertTrue(md.contains("checks: 56 PASS, 0 FAIL, 0 errors"), md);
        assertTrue(md.contains("RESULT: PASS") && md.contains("exit code 0"), md);
    }

    /** The CPU backend with swiglu perturbed and rope throwing: those rows fail, every other check still runs. */
    static final class BrokenKernels extends HostKernels {
        private final VectorKernels good = new VectorKernels(2);

        @Override
        public String name() {
            return "broken";
        }

        @Override
        public void swiglu(float[] gate, float[] up, int n, float[] out) {
            good.swiglu(gate, up, n, out);
            out[n - 1] += 1.0f;
        }

        @Override
        public void rope(float[] x, int tokens, int heads, int headDim, float[] cos, float[] sin) {
            throw new IllegalStateException("rope kernel launch failed (test)");
        }

        @Override
        public void embed(WeightTensor table, int[] ids, float[] out) {
            good.embed(table, ids, out);
        }

        @Override
        public void rmsNorm(float[] x, WeightTensor weight, float eps, int tokens, float[] out) {
            good.rmsNorm(x, weight, eps, tokens, out);
        }

        @Override
        public void matmul(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out) {
            good.matmul(x, tokens, w, bias, out);
        }

        @Override
        public void storeKv(float[] k, float[] v, AttentionBatch batch, KvLayer kv) {
            good.storeKv(k, v, batch, kv);
        }

        @Override
        public void attention(float[] q, float[] out, AttentionBatch batch, KvLayer kv) {
            good.attention(q, out, batch, kv);
        }

        @Override
        public void add(float[] acc, float[] x, int n) {
            good.add(acc, x, n);
        }

        @Override
        public void close() {
            good.close();
        }
    }

    @Test
    void aBrokenOpFailsItsRowAndTheExitCode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        GpuCheck.Options options = new GpuCheck.Options("broken", "small", 7, true, true, null, null, 2, 0, 1);
        int code = new GpuCheck(options, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
                .run(BrokenKernels::new, () -> "test backend");
        String md = out.toString(StandardCharsets.UTF_8);
        assertEquals(GpuCheck.FAILED, code, md);
        assertEquals("FAIL", status(md, "swiglu (in place)"));
        assertEquals("ERROR", status(md, "rope q"));
        assertTrue(md.contains("rope kernel launch failed (test)"), md);
        for (String op : new String[]{"add", "matmul gate T=512", "attention mixed", "storeKv", "embed"}) {
            assertEquals("PASS", status(md, op), op + " still runs and passes after the failures");
        }
        assertEquals("NOT RUN", status(md, "skipped by --skip-timing"));
        assertTrue(md.contains("RESULT: FAIL") && md.contains("exit code 1"), md);
    }

    @Test
    void cudaWithoutAGpuSaysSoAndExitsNonZero() {
        assumeFalse(CudaRuntime.probe().usable(), "a GPU is present");
        CliRun r = main("gpu-check", "--backend", "cuda", "--shapes", "small");
        assertEquals(GpuCheck.NO_BACKEND, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("backend cuda: no usable GPU"), r.out());
        assertEquals("ERROR", status(r.out(), "backend cuda"));
    }

    @Test
    void badOptionsAreRejected() {
        CliRun r = main("gpu-check", "--backend", "tpu");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--backend must be cuda, cpu or reference"), r.err());
        CliRun s = main("gpu-check", "--backend", "cpu", "--shapes", "huge");
        assertEquals(2, s.code());
        assertTrue(s.err().contains("--shapes must be qwq or small"), s.err());
    }

    @Test
    void errorMetricIsRelativeToTheReferenceAndInfiniteOnNaN() {
        ErrorMetric e = new ErrorMetric();
        e.add(1.0f, 1.0f);
        e.add(-3.5f, -4.0f);
        assertEquals(0.5 / 4.0, e.value(), 1e-12);
        e.add(Float.NaN, 0f);
        assertEquals(Double.POSITIVE_INFINITY, e.value());
        ErrorMetric zero = new ErrorMetric();
        zero.add(1e-30f, 0f);
        assertEquals(Double.POSITIVE_INFINITY, zero.value());
    }
}
