package dev.shardline.cli.cluster;

import dev.shardline.coordinator.cluster.ClusterReconciler;
import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.coordinator.server.CoordinatorProcess;
import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.server.WorkerProcess;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A whole cluster on this machine, no Kubernetes needed: a coordinator in this process and N workers, as separate
 * JVM processes ({@code ./shardline up}, the demo, chaos tests) or in this JVM (tests). More workers can join while
 * it runs. Closing it stops the workers and the coordinator.
 */
public final class LocalCluster implements AutoCloseable {
    private final CoordinatorProcess coordinator;
    private final Path model;
    private final int workerThreads;
    private final long workerBudgetBytes;
    private final boolean separateProcesses;
    private final Consumer<String> log;
    private final Map<String, ShardlineProcess> processes = new LinkedHashMap<>();
    private final Map<String, WorkerProcess> inProcess = new LinkedHashMap<>();

    private LocalCluster(CoordinatorProcess coordinator, Path model, int workerThreads, long workerBudgetBytes,
                         boolean separateProcesses, Consumer<String> log) {
        this.coordinator = coordinator;
        this.model = model;
        this.workerThreads = workerThreads;
        this.workerBudgetBytes = workerBudgetBytes;
        this.separateProcesses = separateProcesses;
        this.log = log;
    }

    /**
     * Starts the coordinator on {@code port} (0 = free), then workers worker-0 .. worker-(N-1), and waits until the
     * pipelines serve: the coordinator's {@code pipelines} flag if it sets one, else one.
     *
     * @param workerThreads      compute threads per worker
     * @param workerBudgetBytes  memory budget each worker offers (weights + KV)
     * @param coordinatorFlags   extra coordinator config keys (block-size, activation-dtype, pipelines, ...; http-port
     *                           defaults to 0 here: a free port)
     * @param separateProcesses  true: each worker is its own JVM; false: all in this JVM (tests)
     */
    public static LocalCluster start(Path model, int workers, int port, int workerThreads, long workerBudgetBytes,
                                     Map<String, String> coordinatorFlags, boolean separateProcesses,
                                     Consumer<String> log) throws InterruptedException {
        Map<String, String> flags = new LinkedHashMap<>(coordinatorFlags);
        flags.put("model", model.toString());
        flags.putIfAbsent("workers", Integer.toString(workers));
        flags.put("port", Integer.toString(port));
        flags.putIfAbsent("http-port", "0");                 // several local clusters (tests, bench) must not collide
        CoordinatorProcess coordinator = CoordinatorProcess.start(CoordinatorConfig.parse(Map.of(), flags), log);
        LocalCluster cluster = new LocalCluster(coordinator, model, workerThreads, workerBudgetBytes, separateProcesses, log);
        try {
            for (int i = 0; i < workers; i++) {
                cluster.addWorker("worker-" + i);
            }
            int pipelines = Integer.parseInt(flags.getOrDefault("pipelines", "0"));
            coordinator.awaitServing(Math.max(1, pipelines), TimeUnit.MINUTES.toMillis(5));
            return cluster;
        } catch (RuntimeException | InterruptedException e) {
            cluster.close();
            throw e;
        }
    }

    /** Starts one more worker with this id; it registers and joins the pool (a pipeline forms when it can). */
    public void addWorker(String id) {
        addWorker(id, workerBudgetBytes);
    }

    /** Starts one more worker with this id and memory budget. */
    public void addWorker(String id, long budgetBytes) {
        if (separateProcesses) {
            processes.put(id, ShardlineProcess.start(id, List.of("worker", "--worker-id=" + id,
                    "--coordinator=" + coordinator.address(), "--model=" + model, "--threads=" + workerThreads,
                    "--memory-budget=" + budgetBytes), log));
        } else {
            // in one JVM (tests) the weights stay memory-mapped: no copy per worker, and loads take milliseconds
            Map<String, String> w = Map.of("worker-id", id, "coordinator", coordinator.address(),
                    "model", model.toString(), "threads", Integer.toString(workerThreads),
                    "memory-budget", Long.toString(budgetBytes), "weights", "mmap");
            inProcess.put(id, WorkerProcess.start(WorkerConfig.parse(Map.of(), w), line -> log.accept("[" + id + "] " + line)));
        }
    }

    public String address() {
        return coordinator.address();
    }

    public int port() {
        return coordinator.port();
    }

    /** The OpenAI HTTP API's base URL, e.g. http://127.0.0.1:8000. */
    public String httpUrl() {
        return coordinator.httpUrl();
    }

    public CoordinatorProcess coordinator() {
        return coordinator;
    }

    public ClusterReconciler cluster() {
        return coordinator.cluster();
    }

    /** A worker started as its own JVM. */
    public Optional<ShardlineProcess> workerProcess(String id) {
        return Optional.ofNullable(processes.get(id));
    }

    /** A worker started in this JVM. */
    public Optional<WorkerProcess> inProcessWorker(String id) {
        return Optional.ofNullable(inProcess.get(id));
    }

    /** The workers started in this JVM (tests), to stop one on purpose. */
    public List<WorkerProcess> inProcessWorkers() {
        return new ArrayList<>(inProcess.values());
    }

    @Override
    public void close() {
        for (ShardlineProcess p : processes.values()) p.quiet();
        coordinator.close();                 // first, so that the workers' goodbyes are not losses to handle
        for (ShardlineProcess p : processes.values()) p.close();
        for (WorkerProcess w : inProcess.values()) w.close();
    }
}
