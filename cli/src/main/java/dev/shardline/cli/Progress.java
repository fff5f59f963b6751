package dev.shardline.cli;

import dev.shardline.model.checkpoint.LoadProgress;

import java.util.function.Consumer;

/** Progress lines on stderr, so stdout stays clean for text and JSON. */
final class Progress {
    static Consumer<LoadProgress> toStderr() {
        long start = System.nanoTime();
        return p -> System.err.printf("\rloading: %d/%d layers, %.2f of %.2f GB mapped (%.1f s)%s",
                p.layersDone(), p.layersTotal(), p.bytesMapped() / 1e9, p.bytesTotal() / 1e9,
                (System.nanoTime() - start) / 1e9, p.layersDone() == p.layersTotal() ? "\n" : "");
    }

    static Consumer<String> lines() {
        return line -> System.err.println(line);
    }

    private Progress() {
    }
}
