package dev.shardline.model.checkpoint;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.safetensors.TensorEntry;
import dev.shardline.model.tensor.WeightTensor;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.model.weights.LayerWeights;
import dev.shardline.model.weights.ModelWeights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Loads the weights of one {@link LayerRange} from a Hugging Face checkpoint directory into {@link ModelWeights}.
 * All names and shapes are checked against config.json before anything is mapped; then only the files that hold
 * needed tensors are mapped, so a pipeline stage maps only its own shards. Tensors are views of the mapping (no copy).
 */
public final class CheckpointLoader {

    private CheckpointLoader() {
    }

    /** Loads every tensor of the range; progress (nullable) is told after each layer and after the head. */
    public static ModelWeights load(Path dir, ModelConfig config, LayerRange range, Consumer<LoadProgress> progress) {
        if (dev.shardline.model.gguf.GgufModel.isGguf(dir)) {
            return dev.shardline.model.gguf.GgufModel.open(dir).load(range, progress);
        }
        if (range.end() > config.numHiddenLayers()) {
            throw new CheckpointException(dir + ": " + range + " is beyond the model's " + config.numHiddenLayers()
                    + " layers");
        }
        Checkpoint ckpt = Checkpoint.open(dir);
        Qwen2Tensors.Spec embedSpec = range.embedding() ? Qwen2Tensors.embedding(config) : null;
        Qwen2Tensors.Spec normSpec = range.head() ? Qwen2Tensors.finalNorm(config) : null;
        Qwen2Tensors.Spec headSpec = range.head() ? Qwen2Tensors.lmHead(config) : null;
        List<List<Qwen2Tensors.Spec>> layerSpecs = new ArrayList<>();
        for (int i = range.start(); i < range.end(); i++) {
            layerSpecs.add(Qwen2Tensors.layer(config, i));
        }

        // validate everything first: names and shapes, from the headers alone
        long bytesTotal = 0;
        List<Qwen2Tensors.Spec> all = new ArrayList<>();
        if (embedSpec != null) all.add(embedSpec);
        layerSpecs.forEach(all::addAll);
        if (normSpec != null) all.add(normSpec);
        if (headSpec != null && (embedSpec == null || !headSpec.name().equals(embedSpec.name()))) all.add(headSpec);
        for (Qwen2Tensors.Spec s : all) {
            bytesTotal += check(ckpt, s).byteSize();
        }

        MappedCheckpoint mapping = new MappedCheckpoint();
        try {
            Loading l = new Loading(ckpt, mapping, range.count(), bytesTotal, progress);
            WeightTensor embedding = embedSpec == null ? null : l.tensor(embedSpec);
            List<LayerWeights> layers = new ArrayList<>();
            for (int k = 0; k < layerSpecs.size(); k++) {
                List<WeightTensor> t = new ArrayList<>(12);
                for (Qwen2Tensors.Spec s : layerSpecs.get(k)) {
                    t.add(l.tensor(s));
                }
                layers.add(new LayerWeights(range.start() + k, t.get(0), t.get(1), t.get(2), t.get(3), t.get(4),
                        t.get(5), t.get(6), t.get(7), t.get(8), t.get(9), t.get(10), t.get(11)));
                l.report(k + 1, layerSpecs.get(k).getLast().name());
            }
            WeightTensor norm = null;
            WeightTensor head = null;
            if (range.head()) {
                norm = l.tensor(normSpec);
                head = embedding != null && headSpec.name().equals(embedSpec.name()) ? embedding : l.tensor(headSpec);
                l.report(range.count(), headSpec.name());
            }
            return new ModelWeights(config, range, embedding, layers, norm, head, mapping);
        } catch (RuntimeException e) {
            try {
                mapping.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static TensorEntry check(Checkpoint ckpt, Qwen2Tensors.Spec spec) {
        if (!ckpt.has(spec.name())) {
            throw new CheckpointException(ckpt.dir() + ": tensor \"" + spec.name()
                    + "\" is missing from the checkpoint (config.json requires it)");
        }
        TensorEntry e = ckpt.entry(spec.name());
        if (!e.hasShape(spec.shape())) {
            throw new CheckpointException(ckpt.fileOf(spec.name()) + ": tensor \"" + spec.name() + "\" has shape "
                    + Arrays.toString(e.shape()) + " but config.json implies " + Arrays.toString(spec.shape()));
        }
        return e;
    }

    /** The running state of one load: maps files on demand and counts bytes for progress. */
    private static final class Loading {
        private final Checkpoint ckpt;
        private final MappedCheckpoint mapping;
        private final int layersTotal;
        private final long bytesTotal;
        private final Consumer<LoadProgress> progress;
        private long bytesMapped;

        Loading(Checkpoint ckpt, MappedCheckpoint mapping, int layersTotal, long bytesTotal,
                Consumer<LoadProgress> progress) {
            this.ckpt = ckpt;
            this.mapping = mapping;
            this.layersTotal = layersTotal;
            this.bytesTotal = bytesTotal;
            this.progress = progress;
        }

        WeightTensor tensor(Qwen2Tensors.Spec spec) {
            Path file = ckpt.fileOf(spec.name());
            WeightTensor t = mapping.file(file).tensor(spec.name());
            if (!Arrays.equals(t.shape(), spec.shape())) {
                // the file changed between reading the header and mapping it
                throw new CheckpointException(file + ": tensor \"" + spec.name() + "\" has shape "
                        + Arrays.toString(t.shape()) + " but config.json implies " + Arrays.toString(spec.shape()));
            }
            bytesMapped += t.byteSize();
            return t;
        }

        void report(int layersDone, String current) {
            if (progress != null) {
                progress.accept(new LoadProgress(layersDone, layersTotal, bytesMapped, bytesTotal, current));
            }
        }
    }
}
