package dev.shardline.cli.gpucheck;

import dev.shardline.model.demo.DemoWeights;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Random inputs for gpu-check, all in one arena that lives as long as the run: a GPU backend caches uploaded weights
 * by tensor identity, and freeing memory that a later tensor could reuse is a risk a one-shot check need not take.
 * Big bf16 matrices are filled in parallel by {@link DemoWeights} (values fixed by seed and name).
 */
final class RandomTensors implements AutoCloseable {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofShared();
    private final long seed;
    private final SplittableRandom random;

    RandomTensors(long seed) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    long seed() {
        return seed;
    }

    SplittableRandom random() {
        return random;
    }

    /** A bf16 tensor of normal(0, std) values (weights, biases). */
    WeightTensor gaussian(String name, float std, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        MemorySegment seg = arena.allocate(n * 2, 64);
        DemoWeights.fillGaussian(seg, seed, name, std);
        return new WeightTensor(name, DType.BF16, shape, seg);
    }

    /** A bf16 vector of normal(mean, std) values (RMSNorm weights). */
    WeightTensor vector(String name, double mean, double std, int n) {
        MemorySegment seg = arena.allocate(n * 2L, 64);
        for (int i = 0; i < n; i++) {
            seg.set(SHORT_LE, i * 2L, WeightTensor.floatToBf16((float) (mean + random.nextGaussian() * std)));
        }
        return new WeightTensor(name, DType.BF16, new long[]{n}, seg);
    }

    /** The given rows of matrix (or elements of vector) {@code w}, copied into a tensor of their own. */
    WeightTensor rows(WeightTensor w, int[] rows) {
        long rowBytes = (long) w.cols() * w.dtype().bytes();
        MemorySegment seg = arena.allocate(rows.length * rowBytes, 64);
        for (int i = 0; i < rows.length; i++) {
            MemorySegment.copy(w.data(), rows[i] * rowBytes, seg, i * rowBytes, rowBytes);
        }
        long[] shape = w.shape().length == 1 ? new long[]{rows.length} : new long[]{rows.length, w.cols()};
        return new WeightTensor(w.name() + "[rows]", w.dtype(), shape, seg);
    }

    /** {@code n} floats of normal(0, std). */
    float[] floats(int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (random.nextGaussian() * std);
        return a;
    }

    /** {@code count} distinct sorted indices in [0, n), always including 0 and n - 1; all of them when n <= count. */
    int[] pick(int n, int count) {
        if (n <= count) {
            int[] all = new int[n];
            Arrays.setAll(all, i -> i);
            return all;
        }
        TreeSet<Integer> set = new TreeSet<>();
        set.add(0);
        set.add(n - 1);
        while (set.size() < count) set.add(random.nextInt(n));
        return set.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A random permutation of 0..n-1 (block ids for random block tables). */
    int[] permutation(int n) {
        int[] p = new int[n];
        Arrays.setAll(p, i -> i);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    @Override
    public void close() {
        arena.close();
    }
}
