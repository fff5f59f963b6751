package dev.shardline.cli;

import dev.shardline.model.checkpoint.LoadProgress;

import java.util.function.Consumer;

/** Progress on stderr (stdout stays clean for text and JSON), at most a few lines a second. */
final class Progress {
    private static final long INTERVAL_NANOS = 1_000_000_000L;

    static Consumer<LoadProgress> toStderr() {
        long start = System.nanoTime();
        long[] last = {0};
        return p -> {
            long now = System.nanoTime();
            boolean done = p.layersDone() == p.layersTotal() && p.bytesMapped() == p.bytesTotal();
            if (!done && now - last[0] < INTERVAL_NANOS) return;
            last[0] = now;
            System.err.printf("loading: %d/%d layers, %.2f of %.2f GB mapped (%.1f s)%n",
                    p.layersDone(), p.layersTotal(), p.bytesMapped() / 1e9, p.bytesTotal() / 1e9,
                    (now - start) / 1e9);
        };
    }

    /** Prints a line at most once a second, and always lines that do not look like per-item progress. */
    static Consumer<String> lines() {
        long[] last = {0};
        return line -> {
            long now = System.nanoTime();
            boolean item = line.matches(".*\\(\\s*[0-9.]+ / [0-9.]+ [KMG]?B\\)\\s*$");
            boolean finished = item && line.matches(".*\\(\\s*([0-9.]+) / \\1 [KMG]?B\\)\\s*$");
            if (item && !finished && now - last[0] < INTERVAL_NANOS) return;
            last[0] = now;
            System.err.println(line);
        };
    }

    private Progress() {
    }
}
