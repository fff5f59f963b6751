package dev.shardline.cli.cluster;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/** The last lines a cluster logged, for the message of a failing assertion (tests stay quiet when they pass). */
final class TestLog implements Consumer<String> {
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private final long start = System.nanoTime();

    @Override
    public synchronized void accept(String line) {
        lines.addLast(String.format("%8.3f %s", (System.nanoTime() - start) / 1e9, line));
        while (lines.size() > 400) lines.removeFirst();
    }

    /** The kept lines, oldest first. */
    public synchronized String tail() {
        return "\n--- cluster log (last " + lines.size() + " lines) ---\n" + String.join("\n", lines);
    }
}
