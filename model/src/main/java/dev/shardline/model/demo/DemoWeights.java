package dev.shardline.model.demo;

import dev.shardline.model.tensor.WeightTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Random bf16 values for demo checkpoints. A tensor's values depend only on (seed, tensor name): the tensor is cut
 * into fixed chunks of {@link #CHUNK} elements, each with its own {@link SplittableRandom} seeded from
 * (seed, name, chunk index), so chunks can be filled in parallel and a tensor is identical whichever file holds it.
 *
 * <p>The normal variate is approximated by an Irwin-Hall sum of four 16-bit uniforms taken from one
 * {@code nextLong()}, rescaled to unit variance: cheap (no log/sin), bell-shaped, bounded at about 3.46 sigma.
 * Good enough for random weights; not for statistics.
 */
public final class DemoWeights {
    /** Elements per independently seeded chunk (128 KiB of bf16). */
    public static final int CHUNK = 1 << 16;
    /** Standard deviation of weights and biases (Qwen2's initializer_range). */
    public static final float STD = 0.02f;

    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final short BF16_ONE = WeightTensor.floatToBf16(1.0f);
    // sum of four uniforms on [0, 65535]: mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12
    private static final double IH_MEAN = 4 * 32767.5;
    private static final double IH_SCALE = 1.0 / Math.sqrt(4 * (65536.0 * 65536.0 - 1) / 12.0);

    private DemoWeights() {
    }

    /** Fills a bf16 tensor with normal(0, std) values determined by (seed, name). */
    public static void fillGaussian(MemorySegment target, long seed, String name, float std) {
        long count = target.byteSize() / 2;
        long base = mix(seed ^ mix(nameHash(name)));
        int chunks = Math.toIntExact((count + CHUNK - 1) / CHUNK);
        double scale = std * IH_SCALE;
        IntStream.range(0, chunks).parallel().forEach(c -> {
            long from = (long) c * CHUNK;
            int len = (int) Math.min(CHUNK, count - from);
            SplittableRandom r = new SplittableRandom(mix(base + c * 0x9E3779B97F4A7C15L));
            short[] buf = new short[len];
            for (int i = 0; i < len; i++) {
                long bits = r.nextLong();
                long sum = (bits & 0xffff) + ((bits >>> 16) & 0xffff) + ((bits >>> 32) & 0xffff) + (bits >>> 48);
                buf[i] = WeightTensor.floatToBf16((float) ((sum - IH_MEAN) * scale));
            }
            MemorySegment.copy(buf, 0, target, SHORT_LE, from * 2, len);
        });
    }

    /** Fills a bf16 tensor with 1.0 (RMSNorm weights). */
    public static void fillOnes(MemorySegment target) {
        long count = target.byteSize() / 2;
        for (long i = 0; i < count; i++) {
            target.set(SHORT_LE, i * 2, BF16_ONE);
        }
    }

    /** 64-bit FNV-1a of the UTF-8 name: stable across JVMs and versions. */
    static long nameHash(String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
