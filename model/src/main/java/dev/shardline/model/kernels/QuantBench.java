package dev.shardline.model.kernels;

import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.host.HugePageMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * One-token products on random bf16, Q8_0, Q4_K and Q6_K weights in one run: read bandwidth (weight bytes / time)
 * of each, at QwQ-32B's shapes, 1..threads threads, weights streamed from memory as in {@link KernelBench}. Each
 * block type is also run through the previous kernels (backend {@code cpu-byte-quant}: Q4_K / Q6_K in
 * {@link QuantKernels} rather than {@link QuantLaneKernels}) and {@link QuantKernelsBaseline} (the first kernels),
 * interleaved with the current ones, so the printed ratios (current / previous, current / first, current / bf16)
 * come from the same minutes of a shared machine.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp model/target/classes dev.shardline.model.kernels.KernelBench
 * quant [threads] [rounds] [types, e.g. BF16,Q4_K]}
 */
final class QuantBench {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final DType[] TYPES = {DType.BF16, DType.Q8_0, DType.Q4_K, DType.Q6_K};
    private static final int[][] SHAPES = {{5120, 5120}, {27648, 5120}, {5120, 27648}, {152064, 5120}};

    private QuantBench() {
    }

    static void main(int maxThreads, int rounds, String only) {
        System.out.printf("float lanes %d; GB/s = weight bytes / best time; prev = cpu-byte-quant, base = first kernels, same run%n", VectorOps.L);
        for (int[] shape : SHAPES) {
            int n = shape[0];
            int k = shape[1];
            double[] bf16 = new double[maxThreads + 1];
            for (DType t : TYPES) {
                if (only != null && !(" " + only.replace(',', ' ') + " ").contains(" " + t + " ")) continue;
                long bytes = t.bytesFor((long) n * k);
                int copies = (int) Math.max(1, (KernelBench.STREAM_BYTES + bytes - 1) / bytes);
                try (Arena arena = Arena.ofShared()) {
                    WeightTensor[] ws = new WeightTensor[copies];
                    SplittableRandom rnd = new SplittableRandom(42);
                    for (int c = 0; c < copies; c++) {
                        ws[c] = new WeightTensor("bench" + c, t, new long[] {n, k}, random(arena, t, bytes, rnd));
                    }
                    float[] x = new float[k];
                    for (int i = 0; i < k; i++) x[i] = (float) (rnd.nextDouble() - 0.5);
                    float[] out = new float[n];
                    for (int threads = 1; threads <= maxThreads; threads++) {
                        try (VectorKernels cpu = new VectorKernels(threads); ParallelRunner runner = new ParallelRunner(threads);
                             VectorKernels prev = new VectorKernels(threads, VectorKernels.Variant.BYTE_QUANT_KERNELS)) {
                            boolean quant = t.quantized();
                            float[] xs = quant ? QuantKernels.subBlockSums(x, 0, k, null) : null;
                            double bestNew = Double.MAX_VALUE;
                            double bestOld = Double.MAX_VALUE;
                            double bestPrev = Double.MAX_VALUE;
                            for (int r = -2; r < rounds; r++) {
                                long s0 = System.nanoTime();
                                for (WeightTensor w : ws) cpu.matmul(x, 1, w, null, out);
                                long s1 = System.nanoTime();
                                if (quant) {
                                    for (WeightTensor w : ws) baseline(runner, x, xs, w, n, k, out);
                                }
                                long s2 = System.nanoTime();
                                if (quant) {
                                    for (WeightTensor w : ws) prev.matmul(x, 1, w, null, out);
                                }
                                long s3 = System.nanoTime();
                                if (r >= 0) {
                                    bestNew = Math.min(bestNew, (s1 - s0) / 1e9 / copies);
                                    bestOld = Math.min(bestOld, (s2 - s1) / 1e9 / copies);
                                    bestPrev = Math.min(bestPrev, (s3 - s2) / 1e9 / copies);
                                }
                            }
                            double gbNew = bytes / bestNew / 1e9;
                            if (!quant) {
                                bf16[threads] = gbNew;
                                System.out.printf("[%d, %d] %-5s threads %d: %6.1f GB/s%n", n, k, t, threads, gbNew);
                            } else {
                                double gbOld = bytes / bestOld / 1e9;
                                double gbPrev = bytes / bestPrev / 1e9;
                                String vsBf16 = bf16[threads] > 0   // bf16 not among the types run: no ratio
                                        ? String.format(", /bf16 %.2f (prev %.2f)", gbNew / bf16[threads], gbPrev / bf16[threads]) : "";
                                System.out.printf("[%d, %d] %-5s threads %d: %6.1f GB/s (prev %5.1f, base %5.1f): new/prev %.2f, new/base %.2f%s%n",
                                        n, k, t, threads, gbNew, gbPrev, gbOld, gbNew / gbPrev, gbNew / gbOld, vsBf16);
                            }
                        }
                    }
                }
            }
        }
    }

    /** The first kernels with the first thread split (4 chunks per thread). */
    private static void baseline(ParallelRunner runner, float[] x, float[] xs, WeightTensor w, int n, int k, float[] out) {
        int chunks = Math.max(1, Math.min(runner.threads() * 4, n));
        int rowsPerChunk = (n + chunks - 1) / chunks;
        int realChunks = (n + rowsPerChunk - 1) / rowsPerChunk;
        runner.run(realChunks, (c, worker) -> {
            int r0 = c * rowsPerChunk;
            QuantKernelsBaseline.rows(x, xs, w, k, r0, Math.min(n, r0 + rowsPerChunk), out);
        });
    }

    /** Random weights; block scales of order 2^-10 (like real weights), bf16 below 2 in magnitude. */
    private static MemorySegment random(Arena arena, DType t, long bytes, SplittableRandom rnd) {
        MemorySegment seg = HugePageMemory.allocate(arena, bytes);   // as resident weights are held
        long i = 0;
        long mask = t == DType.BF16 ? 0xBFFF_BFFF_BFFF_BFFFL : -1L;
        for (; i + 8 <= bytes; i += 8) seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & mask);
        if (t.quantized()) {
            short d = Float.floatToFloat16(0x1p-10f);
            for (long b = 0; b < bytes; b += t.blockBytes()) {
                switch (t) {
                    case Q8_0 -> seg.set(SHORT_LE, b, d);
                    case Q4_K -> {
                        seg.set(SHORT_LE, b, d);
                        seg.set(SHORT_LE, b + 2, d);
                    }
                    default -> seg.set(SHORT_LE, b + 208, d);
                }
            }
        }
        return seg;
    }
}
