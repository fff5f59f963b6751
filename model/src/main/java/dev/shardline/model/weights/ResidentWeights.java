package dev.shardline.model.weights;

import dev.shardline.model.host.HugePageMemory;
import dev.shardline.model.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Copies memory-mapped weights into this process's own memory and unmaps the files. Decode reads every weight once
 * per token, and on Linux anonymous memory streams markedly faster than page-cache pages behind a file mapping
 * (measured 1.3-1.5x on the QwQ slice in one JVM, see docs/PERFORMANCE.md), on 2 MiB pages faster again
 * ({@link HugePageMemory}). The price is a copy at start-up and the
 * memory of the copy; {@code mmap} keeps the zero-copy mapping for machines short of RAM.
 */
public final class ResidentWeights {

    /** How a process holds its weights. */
    public enum Mode {
        /** Read in place from the memory-mapped safetensors files (zero copy, shares the page cache). */
        MMAP,
        /** Copied into process memory at load (faster decode, one more copy of the weights in RAM). */
        COPY;

        public static Mode parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "mmap" -> MMAP;
                case "copy" -> COPY;
                default -> throw new IllegalArgumentException("weights mode must be mmap or copy, got \"" + s + "\"");
            };
        }
    }

    /**
     * A copy of {@code mapped} in fresh memory: one region for all tensors ({@link HugePageMemory}: 2 MiB pages where
     * Linux offers them), each tensor 64-byte aligned in it; {@code mapped} is closed. Progress reports bytes copied.
     */
    public static ModelWeights copyOf(ModelWeights mapped, Consumer<String> progress) {
        Map<WeightTensor, Long> offsets = new IdentityHashMap<>();   // tied embeddings stay one tensor
        long[] size = {0};
        map(mapped, t -> {
            if (!offsets.containsKey(t)) {
                offsets.put(t, size[0]);
                size[0] = (size[0] + t.byteSize() + 63) & -64L;
            }
            return t;
        }, null);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment region = HugePageMemory.allocate(arena, size[0]);
            Map<WeightTensor, WeightTensor> copies = new IdentityHashMap<>();
            long[] done = {0};
            long[] lastReport = {System.nanoTime()};
            ModelWeights resident = map(mapped, t -> copies.computeIfAbsent(t, x -> {
                MemorySegment s = region.asSlice(offsets.get(x), x.byteSize());
                s.copyFrom(x.data());
                done[0] += x.byteSize();
                if (progress != null && System.nanoTime() - lastReport[0] > 1_000_000_000L) {
                    lastReport[0] = System.nanoTime();
                    progress.accept(String.format("copying weights into memory: %.2f of %.2f GB", done[0] / 1e9, size[0] / 1e9));
                }
                return new WeightTensor(x.name(), x.dtype(), x.shape(), s);
            }), arena::close);
            mapped.close();
            return resident;
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** {@code w} with each of its tensors replaced by {@code f} of it (nulls stay null), closed by {@code closer}. */
    private static ModelWeights map(ModelWeights w, UnaryOperator<WeightTensor> f, AutoCloseable closer) {
        UnaryOperator<WeightTensor> g = t -> t == null ? null : f.apply(t);
        List<LayerWeights> layers = new ArrayList<>();
        for (LayerWeights l : w.layers()) {
            layers.add(new LayerWeights(l.index(), g.apply(l.inputNorm()), g.apply(l.qWeight()), g.apply(l.qBias()),
                    g.apply(l.kWeight()), g.apply(l.kBias()), g.apply(l.vWeight()), g.apply(l.vBias()),
                    g.apply(l.oWeight()), g.apply(l.postNorm()), g.apply(l.gateWeight()), g.apply(l.upWeight()),
                    g.apply(l.downWeight())));
        }
        return new ModelWeights(w.config(), w.range(), g.apply(w.embedding()), layers, g.apply(w.finalNorm()),
                g.apply(w.lmHead()), closer);
    }

    private ResidentWeights() {
    }
}
