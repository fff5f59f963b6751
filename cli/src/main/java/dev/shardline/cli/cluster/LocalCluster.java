package dev.shardline.cli.cluster;

import dev.shardline.coordinator.cluster.Cluster;
import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.coordinator.server.CoordinatorProcess;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.server.WorkerProcess;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A whole cluster on this machine, no Kubernetes needed: a coordinator in this process and N workers, as separate
 * JVM processes ({@code ./shardline up}, the demo) or in this JVM (tests). Closing it stops the workers and the
 * coordinator.
 */
public final class LocalCluster implements AutoCloseable {
    private final CoordinatorProcess coordinator;
    private final List<Process> processes;
    private final List<WorkerProcess> inProcess;
    private final java.util.concurrent.atomic.AtomicBoolean closing;

    private LocalCluster(CoordinatorProcess coordinator, List<Process> processes, List<WorkerProcess> inProcess,
                         java.util.concurrent.atomic.AtomicBoolean closing) {
        this.coordinator = coordinator;
        this.closing = closing;
        this.processes = processes;
        this.inProcess = inProcess;
    }

    /**
     * Starts the coordinator on {@code port} (0 = free), then the workers, waits until every stage is loaded.
     *
     * @param workerThreads      compute threads per worker
     * @param workerBudgetBytes  memory budget each worker offers (weights + KV)
     * @param coordinatorFlags   extra coordinator config keys (block-size, activation-dtype, ...)
     * @param separateProcesses  true: each worker is its own JVM; false: all in this JVM (tests)
     */
    public static LocalCluster start(Path model, int workers, int port, int workerThreads, long workerBudgetBytes,
                                     Map<String, String> coordinatorFlags, boolean separateProcesses,
                                     Consumer<String> log) throws InterruptedException {
        Map<String, String> flags = new LinkedHashMap<>(coordinatorFlags);
        flags.put("model", model.toString());
        flags.put("workers", Integer.toString(workers));
        flags.put("port", Integer.toString(port));
        CoordinatorProcess coordinator = CoordinatorProcess.start(CoordinatorConfig.parse(Map.of(), flags), log);
        List<Process> processes = new ArrayList<>();
        List<WorkerProcess> local = new ArrayList<>();
        java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
        LocalCluster cluster = new LocalCluster(coordinator, processes, local, closing);
        try {
            for (int i = 0; i < workers; i++) {
                String id = "worker-" + i;
                if (separateProcesses) {
                    processes.add(spawn(id, coordinator.address(), model, workerThreads, workerBudgetBytes, closing, log));
                } else {
                    Map<String, String> w = Map.of("worker-id", id, "coordinator", coordinator.address(),
                            "model", model.toString(), "threads", Integer.toString(workerThreads),
                            "memory-budget", Long.toString(workerBudgetBytes));
                    local.add(WorkerProcess.start(WorkerConfig.parse(Map.of(), w), line -> log.accept("[" + id + "] " + line)));
                }
            }
            coordinator.awaitCluster(TimeUnit.MINUTES.toMillis(5));
            return cluster;
        } catch (RuntimeException | InterruptedException e) {
            cluster.close();
            throw e;
        }
    }

    private static Process spawn(String id, String coordinator, Path model, int threads, long budget,
                                 java.util.concurrent.atomic.AtomicBoolean closing, Consumer<String> log) {
        String java = ProcessHandle.current().info().command().orElse("java");
        // huge pages for the heap, which holds the KV cache: a stage's attention walks blocks spread over a
        // large array, and with 4 KB pages a 1-thread worker ran 20% slower than the same code in one process
        List<String> cmd = List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseParallelGC", "-XX:+UseTransparentHugePages", "-cp", System.getProperty("java.class.path"), "dev.shardline.cli.Main", "worker",
                "--worker-id=" + id, "--coordinator=" + coordinator, "--model=" + model, "--threads=" + threads,
                "--memory-budget=" + budget);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            Thread.ofPlatform().daemon().name(id + "-log").start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (!closing.get() && !line.startsWith("WARNING: Using incubator modules")) log.accept("[" + id + "] " + line);
                    }
                } catch (IOException ignored) {
                    // the worker exited
                }
            });
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start worker process " + id + ": " + e.getMessage(), e);
        }
    }

    public String address() {
        return coordinator.address();
    }

    public int port() {
        return coordinator.port();
    }

    public CoordinatorProcess coordinator() {
        return coordinator;
    }

    public Cluster cluster() {
        return coordinator.cluster();
    }

    /** The in-process workers (tests), to stop one on purpose. */
    public List<WorkerProcess> inProcessWorkers() {
        return inProcess;
    }

    @Override
    public void close() {
        closing.set(true);   // a deliberate stop: the workers' goodbyes are not news
        if (coordinator.cluster() != null) {
            coordinator.cluster().close();  // stop the pipelines first, so losing the workers is not an error
        }
        for (Process p : processes) {
            p.destroy();
        }
        for (WorkerProcess w : inProcess) {
            w.close();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        coordinator.close();
    }
}
