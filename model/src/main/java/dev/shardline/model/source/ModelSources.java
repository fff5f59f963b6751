package dev.shardline.model.source;

import dev.shardline.model.checkpoint.SafetensorsModel;
import dev.shardline.model.gguf.GgufModel;

import java.nio.file.Path;

/** Opens whatever {@code --model} names: a .gguf file (or split part), a directory of GGUF parts, or a HF directory. */
public final class ModelSources {
    private ModelSources() {
    }

    public static ModelSource open(Path path) {
        return GgufModel.isGguf(path) ? GgufModel.open(path) : SafetensorsModel.open(path);
    }

    /** The fingerprint of the model at {@code path} (headers only), whichever its format. */
    public static String fingerprint(Path path) {
        return open(path).fingerprint();
    }
}
