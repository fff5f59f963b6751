package dev.shardline.model.checkpoint;

import dev.shardline.model.safetensors.SafetensorsFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors files a {@link CheckpointLoader} mapped for one layer range; closing it unmaps them all. This is the
 * {@code mapping} of the {@code ModelWeights} the loader returns. Only files holding needed tensors are opened.
 */
public final class MappedCheckpoint implements AutoCloseable {
    private final Map<Path, SafetensorsFile> files = new LinkedHashMap<>();

    MappedCheckpoint() {
    }

    /** The mapped file, opening it on first use. */
    synchronized SafetensorsFile file(Path path) {
        SafetensorsFile f = files.get(path);
        if (f == null) {
            f = SafetensorsFile.open(path);
            files.put(path, f);
        }
        return f;
    }

    /** The files mapped, in the order they were opened. */
    public synchronized List<Path> openedFiles() {
        return new ArrayList<>(files.keySet());
    }

    /** Sum of the sizes of the mapped files. */
    public synchronized long mappedBytes() {
        long total = 0;
        for (SafetensorsFile f : files.values()) {
            total += f.byteSize();
        }
        return total;
    }

    @Override
    public synchronized void close() {
        RuntimeException first = null;
        for (SafetensorsFile f : files.values()) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
