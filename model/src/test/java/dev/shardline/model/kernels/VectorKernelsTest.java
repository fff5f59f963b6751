package dev.shardline.model.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every non-matmul kernel of {@link VectorKernels} against {@link ReferenceKernels} on fresh random inputs; the
 * seed is in every assertion message. Errors are normalised (max |a-b| / max |ref|).
 *
 * <p>Bounds: the element-wise kernels compute each output from a handful of float32 operations where the
 * reference uses double, so they differ by a few float ulps: 1e-6. rmsNorm sums up to 5120 squares in float32
 * (relative error ~ sqrt(n) * 2^-24 &lt; 1e-6 of the scale). Attention sums up to ~100 softmax-weighted values in
 * float32 after float32 dot products over headDim: 1e-5. Copies (embed, storeKv, add) must be exact.
 */
class VectorKernelsTest {
    private final Arena arena = Arena.ofShared();
    private final ReferenceKernels reference = new ReferenceKernels();
    private final VectorKernels cpu = new VectorKernels(2);
    private final long seed = System.nanoTime();
    private final SplittableRandom rnd = new SplittableRandom(seed);

    @AfterEach
    void close() {
        cpu.close();
        arena.close();
    }

    @Test
    void nameIsCpu() {
        assertEquals("cpu", cpu.name());
        assertEquals(2, cpu.threads());
    }

    @Test
    void warmUpLeavesTheKernelsWorking() {
        cpu.warmUp();
        WeightTensor w = TestTensors.random(arena, "w", DType.BF16, rnd, 33, 70);
        float[] x = TestTensors.floats(rnd, 2 * 70, 1);
        float[] expected = new float[2 * 33];
        float[] actual = new float[2 * 33];
        reference.matmul(x, 2, w, null, expected);
        cpu.matmul(x, 2, w, null, actual);
        assertBelow(1e-5, TestTensors.error(actual, expected, actual.length), "matmul after warmUp");
    }

    @Test
    void embedCopiesRowsExactlyForEveryDtype() {
        for (DType dtype : TestTensors.PLAIN) {
            for (int hidden : new int[] {67, 896}) {
                WeightTensor table = TestTensors.random(arena, "embed", dtype, rnd, 50, hidden);
                int[] ids = {3, 0, 49, 3, 17};
                float[] expected = new float[ids.length * hidden];
                float[] actual = new float[ids.length * hidden];
                reference.embed(table, ids, expected);
                cpu.embed(table, ids, actual);
                assertArrayEquals(expected, actual, "seed " + seed + " " + dtype + " hidden " + hidden);
            }
        }
        WeightTensor table = TestTensors.random(arena, "embed", DType.BF16, rnd, 50, 16);
        assertThrows(IllegalArgumentException.class, () -> cpu.embed(table, new int[] {50}, new float[16]));
    }

    @Test
    void rmsNorm() {
        for (DType dtype : TestTensors.PLAIN) {
            for (int dim : new int[] {67, 896, 5120}) {
                for (int tokens : new int[] {1, 3, 17}) {
                    WeightTensor weight = TestTensors.random(arena, "norm", dtype, rnd, dim);
                    float[] x = TestTensors.floats(rnd, tokens * dim + 5, 3);
                    float[] expected = new float[x.length];
                    float[] actual = new float[x.length];
                    reference.rmsNorm(x, weight, 1e-6f, tokens, expected);
                    cpu.rmsNorm(x, weight, 1e-6f, tokens, actual);
                    assertBelow(1e-6, TestTensors.error(actual, expected, x.length),
                            "rmsNorm " + dtype + " dim " + dim + " tokens " + tokens);
                }
            }
        }
    }

    @Test
    void rope() {
        for (int[] shape : new int[][] {{1, 2, 20}, {3, 40, 128}, {17, 14, 64}, {17, 7, 6}}) {
            int tokens = shape[0];
            int heads = shape[1];
            int headDim = shape[2];
            float[] x = TestTensors.floats(rnd, tokens * heads * headDim, 2);
            float[] cos = TestTensors.floats(rnd, tokens * headDim / 2, 1);
            float[] sin = TestTensors.floats(rnd, tokens * headDim / 2, 1);
            float[] expected = x.clone();
            float[] actual = x.clone();
            reference.rope(expected, tokens, heads, headDim, cos, sin);
            cpu.rope(actual, tokens, heads, headDim, cos, sin);
            assertBelow(1e-6, TestTensors.error(actual, expected, x.length),
                    "rope tokens " + tokens + " heads " + heads + " headDim " + headDim);
        }
    }

    @Test
    void swigluAndAdd() {
        for (int n : new int[] {1, 13, 4864, 17 * 4864 + 3}) {
            float[] gate = TestTensors.floats(rnd, n + 7, 12);
            float[] up = TestTensors.floats(rnd, n + 7, 2);
            float[] expected = new float[n + 7];
            float[] actual = new float[n + 7];
            reference.swiglu(gate, up, n, expected);
            cpu.swiglu(gate, up, n, actual);
            assertBelow(1e-6, TestTensors.error(actual, expected, n + 7), "swiglu n " + n);

            float[] sumExpected = gate.clone();
            float[] sumActual = gate.clone();
            reference.add(sumExpected, up, n);
            cpu.add(sumActual, up, n);
            assertArrayEquals(sumExpected, sumActual, "seed " + seed + " add n " + n);
        }
    }

    @Test
    void attentionOverPagedCacheWithGqa() {
        int[][] layouts = {{4, 4, 128}, {4, 2, 20}, {10, 2, 128}, {40, 8, 128}};
        for (int[] layout : layouts) {
            int qHeads = layout[0];
            int kvHeads = layout[1];
            int headDim = layout[2];
            int kvDim = kvHeads * headDim;
            int blockSize = 16;
            KvLayer refKv = KvLayer.allocate(reference, 48, blockSize, kvDim);
            KvLayer cpuKv = KvLayer.allocate(cpu, 48, blockSize, kvDim);
            // earlier steps' keys and values: the same random cache in both
            float[] cachedK = TestTensors.floats(rnd, HostActivations.of(refKv.keys()).length, 1);
            float[] cachedV = TestTensors.floats(rnd, HostActivations.of(refKv.values()).length, 1);
            System.arraycopy(cachedK, 0, HostActivations.of(refKv.keys()), 0, cachedK.length);
            System.arraycopy(cachedK, 0, HostActivations.of(cpuKv.keys()), 0, cachedK.length);
            System.arraycopy(cachedV, 0, HostActivations.of(refKv.values()), 0, cachedV.length);
            System.arraycopy(cachedV, 0, HostActivations.of(cpuKv.values()), 0, cachedV.length);

            // (first position, rows): a continued prefill chunk, decode steps, a fresh prefill, position 0
            int[][] seqs = {{37, 5}, {70, 1}, {0, 9}, {0, 1}, {150, 1}};
            List<Integer> freeBlocks = new ArrayList<>();
            for (int b = 0; b < 48; b++) {
                freeBlocks.add(b);
            }
            List<SequenceSlice> slices = new ArrayList<>();
            int row = 0;
            for (int[] s : seqs) {
                int blocks = (s[0] + s[1] + blockSize - 1) / blockSize;
                int[] table = new int[blocks];
                for (int b = 0; b < blocks; b++) {
                    table[b] = freeBlocks.remove(rnd.nextInt(freeBlocks.size()));
                }
                slices.add(new SequenceSlice(row, s[1], s[0], table));
                row += s[1];
            }
            float scale = (float) (1 / Math.sqrt(headDim));
            AttentionBatch batch = new AttentionBatch(slices, qHeads, kvHeads, headDim, scale);
            String what = "attention q " + qHeads + " kv " + kvHeads + " headDim " + headDim;

            float[] k = TestTensors.floats(rnd, row * kvDim, 1);
            float[] v = TestTensors.floats(rnd, row * kvDim, 1);
            reference.storeKv(k, v, batch, refKv);
            cpu.storeKv(k, v, batch, cpuKv);
            assertArrayEquals(HostActivations.of(refKv.keys()), HostActivations.of(cpuKv.keys()), "seed " + seed + " storeKv keys, " + what);
            assertArrayEquals(HostActivations.of(refKv.values()), HostActivations.of(cpuKv.values()), "seed " + seed + " storeKv values, " + what);

            float[] q = TestTensors.floats(rnd, row * qHeads * headDim, 2);
            float[] expected = new float[q.length];
            float[] actual = new float[q.length];
            reference.attention(q, expected, batch, refKv);
            cpu.attention(q, actual, batch, cpuKv);
            assertBelow(1e-5, TestTensors.error(actual, expected, q.length), what);
        }
    }

    @Test
    void attentionRejectsMismatchedKvWidth() {
        KvLayer kv = KvLayer.allocate(cpu, 4, 16, 64);
        AttentionBatch batch = new AttentionBatch(List.of(new SequenceSlice(0, 1, 0, new int[] {0})), 4, 2, 16, 1f);
        assertThrows(IllegalArgumentException.class, () -> cpu.attention(new float[64], new float[64], batch, kv));
    }

    private void assertBelow(double bound, double error, String what) {
        assertTrue(error < bound, "seed " + seed + " " + what + ": normalised error " + error + " >= " + bound);
    }
}
