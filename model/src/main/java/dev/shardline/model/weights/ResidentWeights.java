package dev.shardline.model.weights;

import dev.shardline.model.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Copies memory-mapped weights into this process's own memory and unmaps the files. Decode reads every weight once
 * per token, and on Linux anonymous memory streams markedly faster than page-cache pages behind a file mapping
 * (measured 1.3-1.5x on the QwQ slice in one JVM, see docs/PERFORMANCE.md). The price is a copy at start-up and the
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

    /** A copy of {@code mapped} in fresh memory; {@code mapped} is closed. Progress reports bytes copied. */
    public static ModelWeights copyOf(ModelWeights mapped, Consumer<String> progress) {
        Arena arena = Arena.ofShared();
        Map<WeightTensor, WeightTensor> copies = new IdentityHashMap<>();   // tied embeddings stay one tensor
        long total = mapped.bytesPerDecodedToken() + (mapped.embedding() == null ? 0 : mapped.embedding().byteSize());
        long[] done = {0};
        long[] lastReport = {System.nanoTime()};
        java.util.function.UnaryOperator<WeightTensor> copy = t -> {
            if (t == null) return null;
            return copies.computeIfAbsent(t, x -> {
                MemorySegment s = arena.allocate(x.byteSize(), 64);
                s.copyFrom(x.data());
                done[0] += x.byteSize();
                if (progress != null && System.nanoTime() - lastReport[0] > 1_000_000_000L) {
                    lastReport[0] = System.nanoTime();
                    progress.accept(String.format("copying weights into memory: %.2f of ~%.2f GB", done[0] / 1e9, total / 1e9));
                }
                return new WeightTensor(x.name(), x.dtype(), x.shape(), s);
            });
        };
        try {
            List<LayerWeights> layers = new ArrayList<>();
            for (LayerWeights l : mapped.layers()) {
                layers.add(new LayerWeights(l.index(), copy.apply(l.inputNorm()), copy.apply(l.qWeight()),
                        copy.apply(l.qBias()), copy.apply(l.kWeight()), copy.apply(l.kBias()), copy.apply(l.vWeight()),
                        copy.apply(l.vBias()), copy.apply(l.oWeight()), copy.apply(l.postNorm()),
                        copy.apply(l.gateWeight()), copy.apply(l.upWeight()), copy.apply(l.downWeight())));
            }
            ModelWeights resident = new ModelWeights(mapped.config(), mapped.range(), copy.apply(mapped.embedding()),
                    layers, copy.apply(mapped.finalNorm()), copy.apply(mapped.lmHead()), arena::close);
            mapped.close();
            return resident;
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    private ResidentWeights() {
    }
}
