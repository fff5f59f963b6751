package dev.shardline.model.kernels;

import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Runs every kernel of a backend on small shapes until the JIT has compiled the Vector API paths. Without it the
 * first [27648, 5120] matvec takes ~1.5 s (interpreted vector code) instead of ~10 ms.
 */
final class KernelWarmup {

    private KernelWarmup() {
    }

    static void run(HostKernels kernels) {
        run(kernels, null);
    }

    /**
     * As {@link #run(HostKernels)}, with the warm-up's weights read from the start of {@code like} (a weight of the
     * model about to run; null, or too small: freshly allocated ones). The kernels that read weights where they lie
     * ({@link PanelBf16}) then see one kind of segment, mapped or allocated, as they will in service: a call site
     * that has seen both kinds (C2 profiles the segment's class) ran the prefill product about 20% slower.
     */
    static void run(HostKernels kernels, MemorySegment like) {
        int n = 64;
        int k = 512;
        try (Arena arena = Arena.ofShared()) {
            WeightTensor bf16 = tensor(arena, like, DType.BF16, n, k);
            WeightTensor f32 = tensor(arena, like, DType.F32, n, k);
            WeightTensor bias = tensor(arena, like, DType.BF16, n);
            WeightTensor norm = tensor(arena, like, DType.BF16, k);
            float[] x = filled(24 * k);
            float[] out = new float[24 * Math.max(n, k)];
            for (int i = 0; i < 1500; i++) {
                kernels.matmul(x, 1, bf16, bias, out);
                kernels.rmsNorm(x, norm, 1e-6f, 1, out);
                kernels.swiglu(x, x, k, out);
                kernels.add(out, x, k);
            }
            for (int i = 0; i < 300; i++) {
                kernels.matmul(x, 1, f32, null, out);
                kernels.matmul(x, 5, bf16, null, out);
                kernels.matmul(x, 8, bf16, bias, out);
                kernels.matmul(x, 24, bf16, null, out);   // the packed prefill path
            }
            int headDim = 8 * VectorOps.L; // the register path of CpuAttention (128 with AVX-512)
            KvLayer kv = KvLayer.allocate(kernels, 4, 16, 2 * headDim);
            float[] q = filled(3 * 4 * headDim);
            float[] kvRows = filled(3 * 2 * headDim);
            float[] cos = filled(3 * headDim / 2);
            AttentionBatch batch = new AttentionBatch(List.of(new SequenceSlice(0, 3, 40, new int[] {3, 1, 0, 2})),
                    4, 2, headDim, 0.125f);
            for (int i = 0; i < 500; i++) {
                kernels.rope(q, 3, 4, headDim, cos, cos);
                kernels.storeKv(kvRows, kvRows, batch, kv);
                kernels.attention(q, out, batch, kv);
            }
        }
    }

    /**
     * Runs the block-type products (one token, a few tokens, a prefill) on the first rows of one of {@code weights}'
     * own tensors per quantized type and row length, read where they lie. Without it the first request on a GGUF
     * model ran its products in interpreted vector code (a Q4_K_M QwQ slice: prefill 3 instead of 160 tok/s).
     */
    static void runQuantized(HostKernels kernels, ModelWeights weights) {
        Map<DType, List<WeightTensor>> byType = new EnumMap<>(DType.class);
        List<WeightTensor> all = new ArrayList<>();
        for (LayerWeights l : weights.layers()) {
            all.addAll(java.util.Arrays.asList(l.qWeight(), l.kWeight(), l.vWeight(), l.oWeight(),
                    l.gateWeight(), l.upWeight(), l.downWeight()));
        }
        all.add(weights.lmHead());
        for (WeightTensor w : all) {
            if (w == null || !w.dtype().quantized() || w.shape().length != 2) continue;
            List<WeightTensor> seen = byType.computeIfAbsent(w.dtype(), t -> new ArrayList<>());
            if (seen.stream().noneMatch(o -> o.cols() == w.cols())) seen.add(w);
        }
        for (List<WeightTensor> tensors : byType.values()) {
            for (WeightTensor w : tensors) {
                int rows = Math.min(16, w.rows());
                int k = w.cols();
                WeightTensor slice = new WeightTensor("warmup", w.dtype(), new long[] {rows, k},
                        w.data().asSlice(0, w.dtype().bytesFor((long) rows * k)));   // read only
                float[] x = filled(24 * k);
                float[] out = new float[24 * rows];
                for (int i = 0; i < 200; i++) {
                    kernels.matmul(x, 1, slice, null, out);
                }
                for (int i = 0; i < 20; i++) {
                    kernels.matmul(x, 4, slice, null, out);
                    kernels.matmul(x, 24, slice, null, out);
                }
            }
        }
    }

    private static WeightTensor tensor(Arena arena, MemorySegment like, DType dtype, long... shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        long bytes = count * dtype.bytes();
        if (like != null && like.byteSize() >= bytes) {
            return new WeightTensor("warmup", dtype, shape, like.asSlice(0, bytes));   // read only, values as they are
        }
        MemorySegment seg = arena.allocate(bytes, 64);
        seg.fill((byte) 0x3c); // bf16 0x3c3c ~ 0.0115, f32 0x3c3c3c3c ~ 0.0115
        return new WeightTensor("warmup", dtype, shape, seg);
    }

    private static float[] filled(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (i % 7 - 3) * 0.1f;
        }
        return a;
    }
}
