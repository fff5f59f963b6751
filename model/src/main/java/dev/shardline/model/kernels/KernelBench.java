package dev.shardline.model.kernels;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
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
                         double gflops) {
        @Override
        public String toString() {
            return String.format("[%d, %d] tokens %d threads %d: %.3f ms, %.1f GB/s, %.1f GFLOP/s", n, k, tokens,
                    threads, bestSeconds * 1e3, gbPerSecond, gflops);
        }
    }

    private KernelBench() {
    }

    /** Best of {@code runs} timed calls (after warm-up) of a {@code [tokens, k] x [n, k]^T} bf16 matmul. */
    public static Result measure(int n, int k, int tokens, int threads, int runs) {
        long bytes = 2L * n * k;
        int copies = tokens <= Bf16SmallBatch.MAX_TOKENS ? (int) Math.max(1, (STREAM_BYTES + bytes - 1) / bytes) : 1;
        SplittableRandom rnd = new SplittableRandom(42);
        try (Arena arena = Arena.ofShared(); VectorKernels cpu = new VectorKernels(threads)) {
            WeightTensor[] weights = new WeightTensor[copies];
            for (int c = 0; c < copies; c++) {
                MemorySegment seg = arena.allocate(bytes, 64);
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
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                for (WeightTensor w : weights) {
                    cpu.matmul(x, tokens, w, null, out);
                }
                best = Math.min(best, (System.nanoTime() - start) / 1e9 / copies);
            }
            return new Result(n, k, tokens, threads, best, bytes / best / 1e9, 2.0 * tokens * n * k / best / 1e9);
        }
    }

    /** Prints the default table for 1..threads threads (default 2) and the given token counts. */
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
        int[][] shapes = {{4864, 896}, {896, 4864}, {151936, 896}, {5120, 5120}, {27648, 5120}};
        for (int[] shape : shapes) {
            for (int tokens : tokenCounts) {
                for (int threads = 1; threads <= maxThreads; threads++) {
                    System.out.println(measure(shape[0], shape[1], tokens, threads, tokens <= Bf16SmallBatch.MAX_TOKENS ? 10 : 3));
                }
            }
        }
    }
}
