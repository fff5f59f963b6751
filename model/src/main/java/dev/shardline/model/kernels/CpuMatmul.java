package dev.shardline.model.kernels;

import static dev.shardline.model.kernels.VectorOps.F;
import static dev.shardline.model.kernels.VectorOps.L;

import dev.shardline.model.host.NativeQuantKernels;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code out[t, n] = sum_k x[t, k] * w[n, k] + bias[n]} on the CPU, weights read in place from their segment.
 *
 * <p>Decode (one token, bf16 or f32) is memory-bound: rows are split into contiguous chunks, four rows at a time
 * share each x load, and the weights stream once from memory (bf16 via {@link Bf16Matvec}). Prefill of at least
 * {@link PackedMatmul#TB} tokens runs {@link PanelMatmul} (activations transposed once into a panel, weights widened
 * per block, outer-product microkernel with vectors along the tokens; {@link PackedMatmul}, vectors along the weight
 * rows, stays as the A/B alternative for benchmarks: {@link #panelPrefill}). The few-token
 * rest (and one-token f16) is tiled: a block of {@link #ROW_BLOCK} rows x {@link #K_BLOCK} columns is widened to float once into per-thread scratch
 * and then multiplied with four tokens x four rows of register accumulators.
 */
final class CpuMatmul {
    /** Weight rows per prefill chunk (multiple of 4). */
    static final int ROW_BLOCK = 16;
    /** Columns per widened tile: 16 rows x 2048 floats = 128 KiB scratch, the x tile of 4 tokens = 32 KiB. */
    static final int K_BLOCK = 2048;
    /** Decode chunks per thread: small enough to rebalance when a core is busy, large enough to stream. */
    static final int chunksPerThread = 4;

    private final ParallelRunner runner;
    private final float[][] scratch; // per worker: [ROW_BLOCK, K_BLOCK]
    private final float[][] packedScratch; // per worker: PackedMatmul.scratchFloats()
    private float[] xd = new float[0]; // the decode activation, split even/odd for Bf16Matvec

    CpuMatmul(ParallelRunner runner) {
        this(runner, true, false, false);
    }

    /** {@code panelPrefill}: prefill runs {@link PanelMatmul} (else {@link PackedMatmul}); {@code firstQuantKernels}:
     * one-token quantized products run {@link QuantKernelsBaseline}; else {@code byteQuantKernels}: they run
     * {@link QuantKernels} only (Q4_K / Q6_K included), else Q4_K / Q6_K run {@link QuantLaneKernels} where the
     * machine has 16 float lanes. */
    CpuMatmul(ParallelRunner runner, boolean panelPrefill, boolean firstQuantKernels, boolean byteQuantKernels) {
        this(runner, panelPrefill, firstQuantKernels, byteQuantKernels, false);
    }

    /** As above; {@code int8Products}: one-token Q4_K / Q6_K / Q8_0 products run {@link NativeQuantKernels} (int8 activations) where it handles them. */
    CpuMatmul(ParallelRunner runner, boolean panelPrefill, boolean firstQuantKernels, boolean byteQuantKernels,
              boolean int8Products) {
        this.int8Products = int8Products;
        this.panelPrefill = panelPrefill;
        this.firstQuantKernels = firstQuantKernels;
        this.laneQuantKernels = !firstQuantKernels && !byteQuantKernels;
        this.runner = runner;
        this.scratch = new float[runner.threads()][];
        this.packedScratch = new float[runner.threads()][];
        this.panelScratch = new float[runner.threads()][];
    }

    void matmul(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out) {
        int n = w.rows();
        int k = w.cols();
        if (w.shape().length != 2) {
            throw new IllegalArgumentException("matmul weight " + w + " is not a matrix");
        }
        if (bias != null && bias.rows() != n) {
            throw new IllegalArgumentException("bias " + bias + " does not match weight " + w);
        }
        if ((long) tokens * k > x.length || (long) tokens * n > out.length) {
            throw new IllegalArgumentException("matmul " + w + " with " + tokens + " tokens: x has " + x.length
                    + " floats, out " + out.length);
        }
        if (tokens <= 0) {
            return;
        }
        if (w.dtype().quantized() && tokens <= QuantKernels.MAX_BATCH) {
            quantized(x, tokens, w, bias, out, n, k);
        } else if (tokens == 1 && w.dtype() != DType.F16) {
            matvec(x, w, bias, out, n, k);
        } else if (tokens <= Bf16SmallBatch.MAX_TOKENS && w.dtype() == DType.BF16) {
            smallBatch(x, tokens, w, bias, out, n, k);
        } else {
            tiled(x, tokens, w, bias, out, n, k);
        }
    }

    // ---- decode: matrix x vector, memory-bound ----

    private void matvec(float[] x, WeightTensor w, WeightTensor bias, float[] out, int n, int k) {
        int chunks = Math.max(1, Math.min(runner.threads() * chunksPerThread, (n + 3) / 4));
        int rowsPerChunk = ((n + chunks - 1) / chunks + 3) & ~3;
        int realChunks = (n + rowsPerChunk - 1) / rowsPerChunk;
        boolean bf16 = w.dtype() == DType.BF16;
        if (bf16) {
            if (xd.length < k) {
                xd = new float[k];
            }
            Bf16Matvec.deinterleave(x, k, xd);
        }
        float[] xs = xd;
        runner.run(realChunks, (c, worker) -> {
            int r0 = c * rowsPerChunk;
            int r1 = Math.min(n, r0 + rowsPerChunk);
            if (bf16) {
                if (Bf16Matvec.streams == 8) {
                    Bf16Matvec.rows8(xs, w.data(), k, r0, r1, out);
                } else {
                    Bf16Matvec.rows(xs, w.data(), k, r0, r1, out);
                }
            } else {
                matvecF32(x, w.data(), k, r0, r1, out);
            }
            if (bias != null) {
                for (int r = r0; r < r1; r++) {
                    out[r] += bias.get(r);
                }
            }
        });
    }

    // ---- block-type weights (Q8_0, Q4_K, Q6_K), one to a few tokens, read in place ----

    private float[] xSums = new float[0];
    private float[][] blockScratch;

    private MemorySegment xLanes = MemorySegment.NULL; // QuantLaneKernels' activations, 64-byte aligned

    private void quantized(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out, int n, int k) {
        if (tokens == 1 && int8Products && w.data().isNative() && NativeQuantKernels.handles(w.dtype(), k)) {
            int8Product(x, w, bias, out, n, k);
            return;
        }
        float[] xs = null;
        boolean lanes = tokens == 1 && laneQuantKernels && QuantLaneKernels.handles(w.dtype())
                && w.data().isNative();   // they read by address
        if (lanes) {
            if (xLanes.byteSize() < 4L * k) xLanes = QuantLaneKernels.allocateLanes(k);
            if (xSums.length < k / 16) xSums = new float[k / 16];
            QuantLaneKernels.prepare(w.dtype(), x, k, xLanes, xSums);
            xs = xSums;
        } else if (tokens == 1 && w.dtype() == DType.Q4_K) {
            xs = xSums = QuantKernels.subBlockSums(x, 0, k, xSums);
        }
        float[] sums = xs;
        MemorySegment lanesBuffer = xLanes;
        long xl = lanesBuffer.address();
        if (blockScratch == null) blockScratch = new float[runner.threads()][];
        float[][] scratchOf = blockScratch;
        // The lane kernels pair each row with the one half a chunk further and alternate one load instruction
        // between the two; with a quarter of a thread's rows per chunk that distance often fell where the pair ran
        // at 0.5-0.6x of one chunk per thread (measured on the QwQ shapes). So they take one chunk per thread, at
        // the price of no rebalancing when a core is busy.
        int chunks = lanes ? Math.min(runner.threads(), n) : Math.max(1, Math.min(runner.threads() * chunksPerThread, n));
        int rowsPerChunk = (n + chunks - 1) / chunks;
        int realChunks = (n + rowsPerChunk - 1) / rowsPerChunk;
        runner.run(realChunks, (c, worker) -> {
            int r0 = c * rowsPerChunk;
            int r1 = Math.min(n, r0 + rowsPerChunk);
            if (lanes) {
                QuantLaneKernels.rows(xl, sums, w, k, r0, r1, out);
            } else if (tokens == 1 && firstQuantKernels) {
                QuantKernelsBaseline.rows(x, sums, w, k, r0, r1, out);
            } else if (tokens == 1) {
                QuantKernels.rows(x, sums, w, k, r0, r1, out);
            } else {
                float[] sc = scratchOf[worker];
                if (sc == null) sc = scratchOf[worker] = new float[256 + QuantKernels.MAX_BATCH];
                QuantKernels.rowsBatch(x, tokens, w, k, n, r0, r1, out, sc, new float[tokens]);
            }
            if (bias != null) {
                for (int t = 0; t < tokens; t++) {
                    for (int r = r0; r < r1; r++) {
                        out[t * n + r] += bias.get(r);
                    }
                }
            }
        });
        Reference.reachabilityFence(lanesBuffer);   // read by address above
    }

    // ---- one token, block-type weights, int8 activations (backend cpu-int8): NativeQuantKernels ----

    private MemorySegment int8X = MemorySegment.NULL;     // x as native floats
    private MemorySegment int8Act = MemorySegment.NULL;   // x quantized, 64-byte aligned
    private MemorySegment int8Out = MemorySegment.NULL;   // the products, native floats

    private void int8Product(float[] x, WeightTensor w, WeightTensor bias, float[] out, int n, int k) {
        long actBytes = NativeQuantKernels.activationBytes(w.dtype(), k);
        if (int8X.byteSize() < 4L * k) int8X = Arena.ofAuto().allocate(4L * k, 64);
        if (int8Act.byteSize() < actBytes) int8Act = Arena.ofAuto().allocate(actBytes, 64);
        if (int8Out.byteSize() < 4L * n) int8Out = Arena.ofAuto().allocate(4L * n, 64);
        MemorySegment.copy(x, 0, int8X, ValueLayout.JAVA_FLOAT, 0, k);
        NativeQuantKernels.prepare(w.dtype(), int8X, k, int8Act);   // once per product, on this thread
        MemorySegment act = int8Act;
        MemorySegment products = int8Out;
        long rowBytes = w.dtype().bytesFor(k);
        // one contiguous range per thread: the kernel runs four rows a quarter of it apart (four streams)
        int chunks = Math.min(runner.threads(), n);
        int rowsPerChunk = (n + chunks - 1) / chunks;
        int realChunks = (n + rowsPerChunk - 1) / rowsPerChunk;
        runner.run(realChunks, (c, worker) -> {
            int r0 = c * rowsPerChunk;
            int r1 = Math.min(n, r0 + rowsPerChunk);
            NativeQuantKernels.rows(w.dtype(), w.data(), rowBytes, k, act, r0, r1, products);
            MemorySegment.copy(products, ValueLayout.JAVA_FLOAT, 4L * r0, out, r0, r1 - r0);
            if (bias != null) {
                for (int r = r0; r < r1; r++) {
                    out[r] += bias.get(r);
                }
            }
        });
    }

    // ---- batched decode: a few tokens, each weight row read once ----

    private float[] xdBatch = new float[0];

    private void smallBatch(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out, int n, int k) {
        if (xdBatch.length < tokens * k) {
            xdBatch = new float[tokens * k];
        }
        Bf16SmallBatch.deinterleave(x, tokens, k, xdBatch);
        float[] xs = xdBatch;
        int chunks = Math.max(1, Math.min(runner.threads() * chunksPerThread, n));
        int rowsPerChunk = (n + chunks - 1) / chunks;
        int realChunks = (n + rowsPerChunk - 1) / rowsPerChunk;
        runner.run(realChunks, (c, worker) -> {
            int r0 = c * rowsPerChunk;
            int r1 = Math.min(n, r0 + rowsPerChunk);
            Bf16SmallBatch.rows(xs, tokens, w.data(), k, n, r0, r1, out);
            if (bias != null) {
                for (int t = 0; t < tokens; t++) {
                    for (int r = r0; r < r1; r++) {
                        out[t * n + r] += bias.get(r);
                    }
                }
            }
        });
    }

    static void matvecF32(float[] x, MemorySegment seg, int k, int r0, int r1, float[] out) {
        long rowBytes = 4L * k;
        int kv = F.loopBound(k);
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            long o0 = r * rowBytes;
            long o1 = o0 + rowBytes;
            long o2 = o1 + rowBytes;
            long o3 = o2 + rowBytes;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            for (int i = 0; i < kv; i += L) {
                FloatVector xv = FloatVector.fromArray(F, x, i);
                long b = 4L * i;
                a0 = VectorOps.f32(seg, o0 + b).fma(xv, a0);
                a1 = VectorOps.f32(seg, o1 + b).fma(xv, a1);
                a2 = VectorOps.f32(seg, o2 + b).fma(xv, a2);
                a3 = VectorOps.f32(seg, o3 + b).fma(xv, a3);
            }
            float s0 = a0.reduceLanes(VectorOperators.ADD);
            float s1 = a1.reduceLanes(VectorOperators.ADD);
            float s2 = a2.reduceLanes(VectorOperators.ADD);
            float s3 = a3.reduceLanes(VectorOperators.ADD);
            for (int i = kv; i < k; i++) {
                float xi = x[i];
                long b = 4L * i;
                s0 += seg.get(VectorOps.FLOAT_LE, o0 + b) * xi;
                s1 += seg.get(VectorOps.FLOAT_LE, o1 + b) * xi;
                s2 += seg.get(VectorOps.FLOAT_LE, o2 + b) * xi;
                s3 += seg.get(VectorOps.FLOAT_LE, o3 + b) * xi;
            }
            out[r] = s0;
            out[r + 1] = s1;
            out[r + 2] = s2;
            out[r + 3] = s3;
        }
        for (; r < r1; r++) {
            long o = r * rowBytes;
            FloatVector a = FloatVector.zero(F);
            for (int i = 0; i < kv; i += L) {
                a = VectorOps.f32(seg, o + 4L * i).fma(FloatVector.fromArray(F, x, i), a);
            }
            float s = a.reduceLanes(VectorOperators.ADD);
            for (int i = kv; i < k; i++) {
                s += seg.get(VectorOps.FLOAT_LE, o + 4L * i) * x[i];
            }
            out[r] = s;
        }
    }

    // ---- prefill: matrix x matrix, compute-bound ----

    /** Tokens from which prefill uses {@link PackedMatmul} (not final: an A/B switch for benchmarks). */
    static final int packedMinTokens = PackedMatmul.TB;

    /** Whether prefill runs {@link PanelMatmul} rather than {@link PackedMatmul} (backend {@code cpu-packed-prefill}). */
    private final boolean panelPrefill;
    /** Whether one-token quantized products run the first kernels (backend {@code cpu-first-quant}). */
    private final boolean firstQuantKernels;
    /** Whether one-token Q4_K / Q6_K products run {@link QuantLaneKernels} (backend {@code cpu}; not {@code cpu-byte-quant}). */
    private final boolean laneQuantKernels;
    /** Whether one-token block-type products run {@link NativeQuantKernels} (backend {@code cpu-int8}). */
    private final boolean int8Products;

    private float[] panel = new float[0];
    private final float[][] panelScratch;

    private void tiled(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out, int n, int k) {
        if (tokens >= packedMinTokens && panelPrefill) {
            int floats = PanelMatmul.paddedTokens(tokens) * k;
            if (panel.length < floats) {
                panel = new float[floats];
            }
            float[] p = panel;
            runner.run(PanelMatmul.panelUnits(tokens, k), (u, worker) -> PanelMatmul.panel(x, tokens, k, u, p));
            int need = PanelMatmul.scratchFloats(tokens);
            int rowBlocks = (n + PanelMatmul.RB - 1) / PanelMatmul.RB;
            int pass = PanelMatmul.passColumns(k);
            for (int k0 = 0; k0 < k; k0 += pass) {
                int from = k0;
                int to = Math.min(k, k0 + pass);
                runner.run(rowBlocks, (blk, worker) -> {
                    float[] ws = panelScratch[worker];
                    if (ws == null || ws.length < need) {
                        ws = panelScratch[worker] = new float[need];
                    }
                    PanelMatmul.block(p, tokens, w, bias, out, n, k, blk * PanelMatmul.RB, from, to, ws);
                });
            }
            return;
        }
        if (tokens >= packedMinTokens) {
            int rowBlocks = (n + PackedMatmul.RB - 1) / PackedMatmul.RB;
            runner.run(rowBlocks, (blk, worker) -> {
                float[] ws = packedScratch[worker];
                if (ws == null) {
                    ws = packedScratch[worker] = new float[PackedMatmul.scratchFloats()];
                }
                PackedMatmul.block(x, tokens, w, bias, out, n, k, blk * PackedMatmul.RB, ws);
            });
            return;
        }
        int blocks = (n + ROW_BLOCK - 1) / ROW_BLOCK;
        runner.run(blocks, (blk, worker) -> {
            float[] wt = scratch[worker];
            if (wt == null) {
                wt = scratch[worker] = new float[ROW_BLOCK * K_BLOCK];
            }
            tileBlock(x, tokens, w, bias, out, n, k, blk * ROW_BLOCK, wt);
        });
    }

    private static void tileBlock(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out,
                                  int n, int k, int r0, float[] wt) {
        int rows = Math.min(ROW_BLOCK, n - r0);
        int paddedRows = (rows + 3) & ~3;
        for (int j = 0; j < rows; j++) {
            float b = bias == null ? 0f : bias.get(r0 + j);
            for (int t = 0; t < tokens; t++) {
                out[t * n + r0 + j] = b;
            }
        }
        for (int kt = 0; kt < k; kt += K_BLOCK) {
            int kl = Math.min(K_BLOCK, k - kt);
            for (int j = 0; j < rows; j++) {
                VectorOps.widen(w, (long) (r0 + j) * k + kt, kl, wt, j * kl);
            }
            java.util.Arrays.fill(wt, rows * kl, paddedRows * kl, 0f);
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                for (int q = 0; q < rows; q += 4) {
                    TileKernels.kernel4x4(x, t * k + kt, k, wt, q * kl, kl, out, t * n + r0 + q, n, rows - q);
                }
            }
            for (; t < tokens; t++) {
                for (int q = 0; q < rows; q += 4) {
                    TileKernels.kernel1x4(x, t * k + kt, wt, q * kl, kl, out, t * n + r0 + q, rows - q);
                }
            }
        }
    }
}
