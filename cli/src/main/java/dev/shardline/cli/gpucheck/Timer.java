package dev.shardline.cli.gpucheck;

import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.Kernels;

import java.util.Arrays;

/**
 * Host wall time of backend work. A GPU backend queues everything on the default stream, so reading one float back
 * waits for all work before it: a batch of calls ended by such a read, timed on the host, gives the time per call
 * with the launch overhead included and the single sync amortised. The result is the median over a few batches;
 * batch sizes adapt to a time budget so a pathologically slow kernel cannot stall the run.
 */
final class Timer {
    private final double batchSeconds;
    private final int batches;

    /** {@code batches} batches of about {@code batchSeconds} each. */
    Timer(double batchSeconds, int batches) {
        this.batchSeconds = batchSeconds;
        this.batches = batches;
    }

    /** A sync that reads one float of {@code fence} (any buffer the timed work writes). */
    static Runnable readOne(Kernels kernels, Activations fence) {
        float[] one = new float[1];
        return () -> kernels.read(fence, 0, one, 0, 1);
    }

    /** Median seconds per call of {@code work} (after one warm-up call); {@code sync} waits for the backend. */
    double secondsPerCall(Runnable work, Runnable sync) {
        work.run();                                   // warm-up: uploads, JIT, first-launch costs
        sync.run();
        long t0 = System.nanoTime();
        work.run();
        sync.run();
        double one = Math.max((System.nanoTime() - t0) / 1e9, 1e-7);
        int calls = (int) Math.clamp(Math.round(batchSeconds / one), 1, 10_000);
        int runs = (int) Math.clamp(Math.round(batches * batchSeconds / (calls * one)), 1, batches);
        double[] perCall = new double[runs];
        for (int b = 0; b < runs; b++) {
            long start = System.nanoTime();
            for (int i = 0; i < calls; i++) work.run();
            sync.run();
            perCall[b] = (System.nanoTime() - start) / 1e9 / calls;
        }
        Arrays.sort(perCall);
        return perCall[runs / 2];
    }
}
