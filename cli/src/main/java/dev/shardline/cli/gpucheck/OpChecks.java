package dev.shardline.cli.gpucheck;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.rope.RopeFrequencies;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.worker.cuda.CudaKernels;
import dev.shardline.worker.cuda.GemmNumerics;

import java.util.List;

/**
 * Section 2: each op of the backend against {@link dev.shardline.model.kernels.ReferenceKernels} on fresh random
 * inputs at the run's shapes. Big matmuls are checked on a random subset of output rows (and of tokens, for
 * prefill): the reference runs on a copy of just those weight rows, so it stays cheap at QwQ sizes. Each check
 * catches its own failure and the next one runs.
 */
final class OpChecks {
    static final double ELEMENTWISE = 1e-5;   // f32 element-wise ops, embed, rope
    static final double DECODE = 1e-4;        // attention; a CPU backend's decode matmul (cuda: derived, GemmNumerics)
    static final double PREFILL = 2e-3;       // a CPU backend's prefill matmul (cuda: derived from the path's numerics)
    static final double EXACT = 0;            // data movement

    private final Context c;
    private final Kernels backend;

    OpChecks(Context c) {
        this.c = c;
        this.backend = c.backend;
    }

    void run() {
        c.report.section("2. Op checks", "Backend vs ReferenceKernels (scalar, double accumulation); error = "
                        + "max|backend - ref| / max|ref| over the compared elements; seed " + c.random.seed() + ".",
                "op", "shape", "compared", "error", "bound", "result");
        check("write/copy/read", this::dataMovement);
        check("embed", this::embed);
        check("rmsNorm", this::rmsNorm);
        check("matmul", this::matmuls);
        check("rope q", () -> rope("rope q", c.shapes.config().numAttentionHeads()));
        check("rope k", () -> rope("rope k", c.shapes.config().numKeyValueHeads()));
        new AttentionCheck(c).run();
        check("swiglu (in place)", this::swiglu);
        check("add", this::add);
    }

    /** Runs one check; a failure (exception, CUDA error) becomes an ERROR row and the next check runs. */
    private void check(String label, Runnable body) {
        try {
            body.run();
        } catch (Throwable e) {
            c.report.error(label, e);
        }
    }

    /** A weight matrix to check, with its bias (or null) and its shape as printed. */
    private record Matrix(String name, WeightTensor weight, WeightTensor bias, String shape) {
    }

    /** Every weight shape of a layer at decode and prefill token counts, then lm_head at T = 1 and 4. */
    private void matmuls() {
        LayerTensors w = c.tensors();
        String h = String.valueOf(c.shapes.hidden());
        String kv = String.valueOf(c.shapes.kvDim());
        String in = String.valueOf(c.shapes.intermediate());
        List<Matrix> layer = List.of(
                new Matrix("q", w.layer().qWeight(), w.layer().qBias(), "[" + h + "," + h + "]+bias"),
                new Matrix("k", w.layer().kWeight(), w.layer().kBias(), "[" + kv + "," + h + "]+bias"),
                new Matrix("v", w.layer().vWeight(), w.layer().vBias(), "[" + kv + "," + h + "]+bias"),
                new Matrix("o", w.layer().oWeight(), null, "[" + h + "," + h + "]"),
                new Matrix("gate", w.layer().gateWeight(), null, "[" + in + "," + h + "]"),
                new Matrix("up", w.layer().upWeight(), null, "[" + in + "," + h + "]"),
                new Matrix("down", w.layer().downWeight(), null, "[" + h + "," + in + "]"));
        for (Matrix m : layer) {
            for (int t : c.shapes.decodeTokens()) matmulCheck(m, t, DECODE);
            for (int t : c.shapes.prefillTokens()) matmulCheck(m, t, PREFILL);
        }
        Matrix head = new Matrix("lm_head", w.lmHead(), null, "[" + c.shapes.vocab() + "," + h + "]");
        matmulCheck(head, 1, DECODE);
        matmulCheck(head, 4, DECODE);
    }

    private void dataMovement() {
        int n = 10_000;
        float[] src = c.random.floats(n, 1.0);
        float[] got = new float[n];
        try (Activations a = backend.allocate(n + 64); Activations b = backend.allocate(n + 128)) {
            backend.write(src, 0, a, 17, n);              // odd offsets on both sides
            backend.copy(a, 17, b, 101, n);
            backend.read(b, 101, got, 0, n);
        }
        ErrorMetric e = new ErrorMetric();
        for (int i = 0; i < n; i++) e.add(got[i], src[i]);
        c.result("write/copy/read", "[" + n + "] at offsets 17, 101", "all", e.value(), EXACT);
    }

    private void embed() {
        WeightTensor table = c.tensors().lmHead();        // [vocab, hidden], the same shape as the embedding
        int hidden = table.cols();
        int[] ids = {0, table.rows() - 1, 151643, 151645, c.random.random().nextInt(table.rows()), 7, 7, 1000};
        for (int i = 0; i < ids.length; i++) ids[i] = Math.min(ids[i], table.rows() - 1);
        float[] got = new float[ids.length * hidden];
        try (Activations out = backend.allocate((long) ids.length * hidden)) {
            backend.embed(table, ids, out);
            backend.read(out, 0, got, 0, got.length);
        }
        float[] ref = new float[got.length];
        c.reference.embed(table, ids, ref);
        c.result("embed", "8 ids of [" + table.rows() + "," + hidden + "]", "all", ErrorMetric.of(got, ref), ELEMENTWISE);
    }

    private void rmsNorm() {
        WeightTensor weight = c.tensors().layer().inputNorm();
        int hidden = weight.rows();
        float eps = (float) c.shapes.config().rmsNormEps();
        for (int tokens : new int[]{1, 512}) {
            float[] x = c.random.floats(tokens * hidden, 3.0);
            float[] got = new float[x.length];
            try (Activations xa = backend.allocate(x.length); Activations out = backend.allocate(x.length)) {
                backend.write(x, 0, xa, 0, x.length);
                backend.rmsNorm(xa, weight, eps, tokens, out);
                backend.read(out, 0, got, 0, got.length);
            }
            float[] ref = new float[x.length];
            c.reference.rmsNorm(x, weight, eps, tokens, ref);
            c.result("rmsNorm", "[" + tokens + "," + hidden + "]", "all", ErrorMetric.of(got, ref), ELEMENTWISE);
        }
    }

    /** x [tokens, K] random; the backend computes all of out [tokens, N], the reference a subset (see class doc). */
    private void matmulCheck(Matrix m, int tokens, double bound) {
        WeightTensor w = m.weight();
        WeightTensor bias = m.bias();
        String label = "matmul " + m.name() + " T=" + tokens;
        check(label, () -> {
            int n = w.rows();
            int k = w.cols();
            float[] x = c.random.floats(tokens * k, 1.0);
            float[] got = new float[tokens * n];
            try (Activations xa = backend.allocate((long) tokens * k); Activations out = backend.allocate((long) tokens * n)) {
                backend.write(x, 0, xa, 0, x.length);
                backend.matmul(xa, tokens, w, bias, out);
                backend.read(out, 0, got, 0, got.length);
            }
            int[] rows = c.random.pick(n, Shapes.CHECK_ROWS);
            int[] toks = c.random.pick(tokens, Shapes.CHECK_TOKENS);
            float[] xSub = new float[toks.length * k];
            for (int i = 0; i < toks.length; i++) System.arraycopy(x, toks[i] * k, xSub, i * k, k);
            float[] ref = new float[toks.length * rows.length];
            WeightTensor wSub = c.random.rows(w, rows);
            WeightTensor biasSub = bias == null ? null : c.random.rows(bias, rows);
            c.reference.matmul(xSub, toks.length, wSub, biasSub, ref);
            double checkBound = backend instanceof CudaKernels cuda
                    ? derivedBound(cuda, tokens, xSub, toks.length, wSub, biasSub, ref) : bound;
            ErrorMetric e = new ErrorMetric();
            for (int i = 0; i < toks.length; i++) {
                for (int j = 0; j < rows.length; j++) {
                    e.add(got[toks[i] * n + rows[j]], ref[i * rows.length + j]);
                }
            }
            String compared = rows.length + " rows x " + (toks.length == tokens ? "all" : toks.length) + " tok";
            c.result(label, m.shape(), compared, e.value(), checkBound);
        });
    }

    /**
     * The CUDA backend's bound for this matmul: the simulated error of the path it takes (matvec up to 16 tokens,
     * else PRECISE or FAST tensor-core GEMM; {@link GemmNumerics}) on the compared outputs, times its margin; fails
     * (an exception: an ERROR row) unless the path's broken variant would exceed it.
     */
    private static double derivedBound(CudaKernels cuda, int tokens, float[] x, int tokenCount, WeightTensor w,
                                       WeightTensor bias, float[] ref) {
        GemmNumerics.Path path = tokens <= CudaKernels.MATVEC_MAX_TOKENS || w.cols() % 16 != 0
                ? GemmNumerics.Path.MATVEC
                : cuda.gemmMode() == CudaKernels.GemmMode.PRECISE ? GemmNumerics.Path.PRECISE : GemmNumerics.Path.FAST;
        GemmNumerics.Path broken = switch (path) {
            case PRECISE -> GemmNumerics.Path.PRECISE_WITHOUT_LO;
            case FAST -> GemmNumerics.Path.FAST_WITHOUT_LAST_STEP;
            default -> GemmNumerics.Path.FAST;
        };
        float[] b = null;
        if (bias != null) {
            b = new float[bias.rows()];
            bias.read(0, b);
        }
        double bound = GemmNumerics.bound(path, GemmNumerics.error(ref, GemmNumerics.simulate(path, x, tokenCount, w, b, null)));
        double brokenError = GemmNumerics.error(ref, GemmNumerics.simulate(broken, x, tokenCount, w, b, null));
        if (!(brokenError > bound)) {
            throw new IllegalStateException(path + " bound " + bound + " would pass " + broken + " (" + brokenError + ")");
        }
        return bound;
    }

    private void rope(String op, int heads) {
        int headDim = c.shapes.config().headDim();
        int half = headDim / 2;
        int[] positions = {0, 1, 100, 9000, 32767, 32768, 100_000, 131_071};
        int tokens = positions.length;
        float[] cos = new float[tokens * half];
        float[] sin = new float[tokens * half];
        RopeFrequencies.of(c.shapes.config()).table(positions, cos, sin);
        float[] x = c.random.floats(tokens * heads * headDim, 1.0);
        float[] got = new float[x.length];
        try (Activations xa = backend.allocate(x.length); Activations ca = backend.allocate(cos.length);
             Activations sa = backend.allocate(sin.length)) {
            backend.write(x, 0, xa, 0, x.length);
            backend.write(cos, 0, ca, 0, cos.length);
            backend.write(sin, 0, sa, 0, sin.length);
            backend.rope(xa, tokens, heads, headDim, ca, sa);
            backend.read(xa, 0, got, 0, got.length);
        }
        float[] ref = x.clone();
        c.reference.rope(ref, tokens, heads, headDim, cos, sin);
        c.result(op + " (YaRN)", "[" + tokens + "," + heads + "," + headDim + "] pos 0..131071", "all",
                ErrorMetric.of(got, ref), ELEMENTWISE);
    }

    private void swiglu() {
        int n = 512 * c.shapes.intermediate();
        float[] gate = c.random.floats(n, 2.0);
        float[] up = c.random.floats(n, 2.0);
        float[] got = new float[n];
        try (Activations g = backend.allocate(n); Activations u = backend.allocate(n)) {
            backend.write(gate, 0, g, 0, n);
            backend.write(up, 0, u, 0, n);
            backend.swiglu(g, u, n, g);                       // in place, as Qwen2Forward calls it
            backend.read(g, 0, got, 0, n);
        }
        float[] ref = new float[n];
        c.reference.swiglu(gate, up, n, ref);
        c.result("swiglu (in place)", "[512," + c.shapes.intermediate() + "]", "all", ErrorMetric.of(got, ref), ELEMENTWISE);
    }

    private void add() {
        int n = 512 * c.shapes.hidden();
        float[] acc = c.random.floats(n, 1.0);
        float[] x = c.random.floats(n, 1.0);
        float[] got = new float[n];
        try (Activations a = backend.allocate(n); Activations b = backend.allocate(n)) {
            backend.write(acc, 0, a, 0, n);
            backend.write(x, 0, b, 0, n);
            backend.add(a, b, n);
            backend.read(a, 0, got, 0, n);
        }
        float[] ref = acc.clone();
        c.reference.add(ref, x, n);
        c.result("add", "[512," + c.shapes.hidden() + "]", "all", ErrorMetric.of(got, ref), ELEMENTWISE);
    }

}
