package dev.shardline.cli.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A {@code ./shardline <command>} JVM started from this one (same Java, same class path), its output forwarded
 * line by line to a log with a {@code [name]} prefix. Its stdin stays open, so a worker started this way stops when
 * this JVM goes away.
 */
public final class ShardlineProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final AtomicBoolean quiet = new AtomicBoolean();

    private ShardlineProcess(String name, Process process) {
        this.name = name;
        this.process = process;
    }

    /** Starts {@code dev.shardline.cli.Main args...}. */
    public static ShardlineProcess start(String name, List<String> args, Consumer<String> log) {
        return start(name, args, java.util.Map.of(), log);
    }

    /** Starts {@code dev.shardline.cli.Main args...} with these environment variables added. */
    public static ShardlineProcess start(String name, List<String> args, java.util.Map<String, String> env,
                                         Consumer<String> log) {
        String java = ProcessHandle.current().info().command().orElse("java");
        // huge pages for the heap, which holds the KV cache: a stage's attention walks blocks spread over a
        // large array, and with 4 KB pages a 1-thread worker ran 20% slower than the same code in one process
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-XX:+UseTransparentHugePages",
                "-cp", System.getProperty("java.class.path"), "dev.shardline.cli.Main"));
        cmd.addAll(args);
        Process p;
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(env);
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + e.getMessage(), e);
        }
        ShardlineProcess sp = new ShardlineProcess(name, p);
        Thread.ofPlatform().daemon().name(name + "-log").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!sp.quiet.get() && !line.startsWith("WARNING: Using incubator modules")) log.accept("[" + name + "] " + line);
                }
            } catch (IOException ignored) {
                // the process exited
            }
        });
        return sp;
    }

    public String name() {
        return name;
    }

    public Process process() {
        return process;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: the process dies at once, as on a machine failure. */
    public void kill() {
        process.destroyForcibly();
    }

    /**
     * SIGTERM: the process is asked to stop (a worker drains first). Sent through the process handle: {@code
     * Process.destroy()} would also close its stdin, which stops a worker at once.
     */
    public void terminate() {
        process.toHandle().destroy();
    }

    /** Waits for the exit; its status, or -1 when it is still running after the timeout. */
    public int awaitExit(long timeout, TimeUnit unit) throws InterruptedException {
        return process.waitFor(timeout, unit) ? process.exitValue() : -1;
    }

    /** Stops forwarding its output (a deliberate stop is not news). */
    public void quiet() {
        quiet.set(true);
    }

    /**
     * Stops it at once without a drain (closing its stdin, which a worker started this way watches), and kills it if
     * it has not exited after 10 s.
     */
    @Override
    public void close() {
        quiet();
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            process.destroy();
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
