package dev.shardline.cli.bench;

import dev.shardline.model.host.HugePageMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures the machine's read bandwidth the way a decode step reads weights: an off-heap buffer far larger than
 * any cache, split into one contiguous part per thread, each part read as four interleaved sequential streams
 * summed with Vector API loads. The yardstick for the matmul kernels' GB/s.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int STREAMS = 4;
    private static volatile float sink;

    private MemoryBandwidth() {
    }

    /**
     * Best read rate in GB/s (1e9 bytes) over {@code passes} passes of {@code threads} threads reading a buffer of
     * {@code bufferBytes} (at least 2 GiB; raised to it if smaller).
     */
    public static double measureReadGBps(int threads, long bufferBytes, int passes) {
        if (threads < 1 || passes < 1) {
            throw new IllegalArgumentException("threads and passes must be >= 1");
        }
        long bytes = Math.max(bufferBytes, 2L << 30);
        long partBytes = bytes / threads / (STREAMS * F.vectorByteSize()) * (STREAMS * F.vectorByteSize());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = HugePageMemory.allocate(arena, partBytes * threads);   // as the weights are held
            buffer.fill((byte) 1); // touch every page, so the passes read memory, not fault it in
            float warm = 0;
            for (int i = 0; i < 2000; i++) { // compile readPart before timing it
                warm += readPart(buffer.asSlice((i % 64) * 65536L, 65536));
            }
            sink = warm;
            double best = 0;
            for (int pass = 0; pass < passes; pass++) {
                Thread[] workers = new Thread[threads];
                float[] sums = new float[threads];
                long start = System.nanoTime();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    MemorySegment part = buffer.asSlice(t * partBytes, partBytes);
                    workers[t] = new Thread(() -> sums[id] = readPart(part));
                    workers[t].start();
                }
                for (Thread w : workers) {
                    try {
                        w.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while measuring bandwidth", e);
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                float total = 0;
                for (float s : sums) {
                    total += s;
                }
                sink = total; // the sums are used, so the JIT cannot drop the loads
                best = Math.max(best, partBytes * threads / seconds / 1e9);
            }
            return best;
        }
    }

    /** Sums a part as {@link #STREAMS} sequential streams, one accumulator each. */
    private static float readPart(MemorySegment part) {
        long quarter = part.byteSize() / STREAMS;
        long step = F.vectorByteSize();
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        for (long o = 0; o < quarter; o += step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, part, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, part, quarter + o, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, part, 2 * quarter + o, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, part, 3 * quarter + o, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
