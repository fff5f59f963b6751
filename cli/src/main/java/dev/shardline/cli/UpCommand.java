package dev.shardline.cli;

import dev.shardline.cli.cluster.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ./shardline up --model DIR --workers N [--port P]}: a coordinator and N worker processes on this machine. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start a local cluster: a coordinator and N worker processes; Ctrl-C stops it.")
final class UpCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--workers", defaultValue = "2", paramLabel = "N")
    int workers;

    @Option(names = "--port", defaultValue = "0", paramLabel = "P", description = "client port (0 picks a free one)")
    int port;

    @Option(names = "--http-port", defaultValue = "8000", paramLabel = "P",
            description = "port of the OpenAI-compatible HTTP API (0 picks a free one)")
    int httpPort;

    @Option(names = "--threads-per-worker", defaultValue = "0", paramLabel = "T", description = "default: cores / workers")
    int threadsPerWorker;

    @Option(names = "--activation-dtype", defaultValue = "bf16", paramLabel = "bf16|f32")
    String activationDtype;

    @Option(names = "--pipelines", defaultValue = "1", paramLabel = "P",
            description = "pipelines to aim for: 1 (default) puts every worker in one pipeline; 0 forms as many as the "
                    + "workers can hold; changeable later with ./shardline scale")
    int pipelines;

    @Override
    public Integer call() throws InterruptedException {
        LocalCluster cluster = startLocal(model, workers, port, threadsPerWorker, activationDtype, pipelines, httpPort,
                line -> System.err.println(line));
        System.out.println("shardline cluster up: gRPC on " + cluster.address() + " (port " + cluster.port() + "), "
                + "OpenAI HTTP API on " + cluster.httpUrl() + "/v1");
        System.out.println("try: ./shardline chat --server " + cluster.address() + " \"Hello\"");
        System.out.println("or:  " + DemoCommand.curl(cluster.httpUrl(), cluster.coordinator().model().id(), "Hello", 32));
        System.out.flush();
        Shutdown.awaitSignal(cluster);
        return 0;
    }

    static LocalCluster startLocal(Path model, int workers, int port, int threadsPerWorker, String dtype, int pipelines,
                                   int httpPort, java.util.function.Consumer<String> log) throws InterruptedException {
        int cores = Runtime.getRuntime().availableProcessors();
        int threads = threadsPerWorker > 0 ? threadsPerWorker : Math.max(1, cores / workers);
        long budget = physicalMemory() / Math.max(1, workers);
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("activation-dtype", dtype);
        flags.put("pipelines", Integer.toString(pipelines));
        flags.put("http-port", Integer.toString(httpPort));
        return LocalCluster.start(model, workers, port, threads, budget, flags, true, log);
    }

    static long physicalMemory() {
        return dev.shardline.worker.config.WorkerConfig.physicalMemory();
    }
}
