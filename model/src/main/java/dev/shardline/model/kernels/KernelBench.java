package dev.shardline.model.kernels;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.host.HugePageMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Measures {@link VectorKernels#matmul} on random bf16 weights: read bandwidth (weight bytes / time) for one
 * token and GFLOP/s ({@code 2 * tokens * N * K / time}) for many, best of several runs. For decode (up to
 * {@link Bf16SmallBatch#MAX_TOKENS} tokens) the weights are replicated until they span at least
 * {@link #STREAM_BYTES} and the runs rotate through the copies, so the numbers come from memory, not from the
 * last-level cache, as in a real decode step; prefill shapes reuse one copy.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp model/target/classes dev.shardline.model.kernels.KernelBench
 * [threads] [tokens,...]} prints the default table (up to 2 threads; 1, 8, 16 and 64 tokens; the shapes of
 * {@code small} and QwQ-32B); {@link #measure} is for the CLI's bench. {@code KernelBench quant [threads] [rounds]}
 * compares the one-token products on block-type weights with bf16 ({@link QuantBench}).
 */
public final class KernelBench {
    /** Weights streamed per one-token measurement, so the cache cannot hold them. */
    public static final long STREAM_BYTES = 512L << 20;

    /** One measurement: the shape {@code [n, k]}, the token count and threads, and the best run's rates. */
    public record Result(int n, int k, int tokens, int threads, double bestSeconds, double gbPerSecond,
                         double gflops, double cpuGflops) {
        @Override
        public String toString() {
            return String.format("[%d, %d] tokens %d threads %d: %.3f ms, %.1f GB/s, %.1f GFLOP/s%s", n, k, tokens,
                    threads, bestSeconds * 1e3, gbPerSecond, gflops,
                    threads == 1 ? String.format(" (%.1f per CPU second)", cpuGflops) : "");
        }
    }

    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    private KernelBench() {
    }

    /** Best of {@code runs} timed calls (after warm-up) of a {@code [tokens, k] x [n, k]^T} bf16 matmul. */
    public static Result measure(int n, int k, int tokens, int threads, int runs) {
        return measure(n, k, tokens, threads, runs, VectorKernels.Variant.CURRENT);
    }

    static Result measure(int n, int k, int tokens, int threads, int runs, VectorKernels.Variant variant) {
        long bytes = 2L * n * k;
        int copies = tokens <= Bf16SmallBatch.MAX_TOKENS ? (int) Math.max(1, (STREAM_BYTES + bytes - 1) / bytes) : 1;
        SplittableRandom rnd = new SplittableRandom(42);
        try (Arena arena = Arena.ofShared(); VectorKernels cpu = new VectorKernels(threads, variant)) {
            WeightTensor[] weights = new WeightTensor[copies];
            for (int c = 0; c < copies; c++) {
                MemorySegment seg = HugePageMemory.allocate(arena, bytes);   // as resident weights are held
                for (long i = 0; i < bytes; i += 8) {
                    // random bf16 of magnitude below 2: keep the exponent field below 0x80
                    seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0xBFFF_BFFF_BFFF_BFFFL);
                }
                weights[c] = new WeightTensor("bench" + c, DType.BF16, new long[] {n, k}, seg);
            }
            float[] x = new float[tokens * k];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rnd.nextDouble() - 0.5);
            }
            float[] out = new float[tokens * n];
            int warmup = Math.max(3, 2 * copies);
            for (int i = 0; i < warmup; i++) {
                cpu.matmul(x, tokens, weights[i % copies], null, out);
            }
            double best = Double.MAX_VALUE;
            double bestCpu = Double.MAX_VALUE;
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                long cpuStart = CPU.getCurrentThreadCpuTime();
                for (WeightTensor w : weights) {
                    cpu.matmul(x, tokens, w, null, out);
                }
                bestCpu = Math.min(bestCpu, (CPU.getCurrentThreadCpuTime() - cpuStart) / 1e9 / copies);
                best = Math.min(best, (System.nanoTime() - start) / 1e9 / copies);
            }
            double flop = 2.0 * tokens * n * k;
            return new Result(n, k, tokens, threads, best, bytes / best / 1e9, flop / best / 1e9, flop / bestCpu / 1e9);
        }
    }

    /**
     * The single-thread f32 FMA peak in GFLOP/s: 24 independent accumulator chains of {@code c = c * m + a} in
     * registers, no memory traffic, best of {@code runs} runs of {@code iters} iterations, timed by the thread's CPU time. The ceiling against which
     * the prefill GEMM's rate is read (printed in the same run, since the machine's load varies).
     */
    public static double peakGflops(long iters, int runs) {
        double best = 0;
        float sink = 0;
        for (int r = 0; r < runs; r++) {
            long start = CPU.getCurrentThreadCpuTime();
            sink += fmaLoop(iters);
            double s = (CPU.getCurrentThreadCpuTime() - start) / 1e9;
            best = Math.max(best, 2.0 * 24 * VectorOps.L * iters / s / 1e9);
        }
        if (sink == 42f) {
            System.out.print("");
        }
        return best;
    }

    private static float fmaLoop(long iters) {
        jdk.incubator.vector.VectorSpecies<Float> f = VectorOps.F;
        jdk.incubator.vector.FloatVector m = jdk.incubator.vector.FloatVector.broadcast(f, 0.999f);
        jdk.incubator.vector.FloatVector a = jdk.incubator.vector.FloatVector.broadcast(f, 1e-3f);
        jdk.incubator.vector.FloatVector c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
        jdk.incubator.vector.FloatVector c8 = a, c9 = a, c10 = a, c11 = a, c12 = a, c13 = a, c14 = a, c15 = a;
        jdk.incubator.vector.FloatVector c16 = a, c17 = a, c18 = a, c19 = a, c20 = a, c21 = a, c22 = a, c23 = a;
        for (long i = 0; i < iters; i++) {
            c0 = c0.fma(m, a); c1 = c1.fma(m, a); c2 = c2.fma(m, a); c3 = c3.fma(m, a);
            c4 = c4.fma(m, a); c5 = c5.fma(m, a); c6 = c6.fma(m, a); c7 = c7.fma(m, a);
            c8 = c8.fma(m, a); c9 = c9.fma(m, a); c10 = c10.fma(m, a); c11 = c11.fma(m, a);
            c12 = c12.fma(m, a); c13 = c13.fma(m, a); c14 = c14.fma(m, a); c15 = c15.fma(m, a);
            c16 = c16.fma(m, a); c17 = c17.fma(m, a); c18 = c18.fma(m, a); c19 = c19.fma(m, a);
            c20 = c20.fma(m, a); c21 = c21.fma(m, a); c22 = c22.fma(m, a); c23 = c23.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .add(c12).add(c13).add(c14).add(c15).add(c16).add(c17).add(c18).add(c19).add(c20).add(c21)
                .add(c22).add(c23).lane(0);
    }

    /**
     * Prints the default table for 1..threads threads (default 2) and the given token counts, after the FMA peak;
     * prefill shapes (more than {@link Bf16SmallBatch#MAX_TOKENS} tokens) are measured with both prefill kernels
     * ({@code panel}: {@link PanelMatmul}, {@code packed}: {@link PackedMatmul}), interleaved, in the same run.
     */
    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("quant")) {   // quant [threads] [rounds]: see QuantBench
            QuantBench.main(args.length > 1 ? Integer.parseInt(args[1]) : 2, args.length > 2 ? Integer.parseInt(args[2]) : 5,
                    args.length > 3 ? args[3] : null);
            return;
        }
        int maxThreads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int[] tokenCounts = args.length > 1
                ? java.util.Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 8, 16, 64};
        boolean prefillOnly = java.util.Arrays.stream(tokenCounts).allMatch(t -> t > Bf16SmallBatch.MAX_TOKENS);
        int[][] shapes = prefillOnly
                ? new int[][] {{5120, 5120}, {27648, 5120}, {5120, 27648}}
                : new int[][] {{4864, 896}, {896, 4864}, {151936, 896}, {5120, 5120}, {27648, 5120}, {5120, 27648}};
        peakGflops(20_000_000L, 2); // warm-up
        System.out.printf("FMA peak, one thread: %.1f GFLOP/s%n", peakGflops(50_000_000L, 5));
        for (int[] shape : shapes) {
            for (int tokens : tokenCounts) {
                for (int threads = 1; threads <= maxThreads; threads++) {
                    if (tokens > Bf16SmallBatch.MAX_TOKENS) {
                        for (boolean panel : new boolean[] {false, true, false, true}) {
                            System.out.println((panel ? "panel  " : "packed ") + measure(shape[0], shape[1], tokens, threads, 3,
                                    panel ? VectorKernels.Variant.CURRENT : VectorKernels.Variant.PACKED_PREFILL));
                        }
                    } else {
                        System.out.println(measure(shape[0], shape[1], tokens, threads, 10));
                    }
                }
            }
        }
        System.out.printf("FMA peak, one thread: %.1f GFLOP/s%n", peakGflops(50_000_000L, 5));
    }
}
