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

    @Option(names = "--kafka", paramLabel = "embedded|HOST:PORT",
            description = "batch jobs through Kafka: 'embedded' starts a single-node broker in this process with its data "
                    + "under the cache directory (kept across restarts); HOST:PORT uses a running cluster")
    String kafka;

    @Override
    public Integer call() throws InterruptedException {
        dev.shardline.cli.kafka.EmbeddedKafka broker = null;
        Map<String, String> extra = new LinkedHashMap<>();
        if (kafka != null) {
            if (kafka.equals("embedded")) {
                java.nio.file.Path dir = dev.shardline.model.tokenizer.QwenTokenizerSource.cacheRoot().resolve("kafka");
                broker = dev.shardline.cli.kafka.EmbeddedKafka.start(dir, 0);
                System.err.println("embedded Kafka on " + broker.bootstrap() + " (data in " + dir + ")");
                extra.put("kafka-bootstrap", broker.bootstrap());
            } else {
                extra.put("kafka-bootstrap", kafka);
            }
        }
        LocalCluster cluster;
        try {
            cluster = startLocal(model, workers, port, threadsPerWorker, activationDtype, pipelines, httpPort,
                    line -> System.err.println(line), extra);
        } catch (RuntimeException | InterruptedException e) {
            if (broker != null) broker.close();
            throw e;
        }
        dev.shardline.cli.kafka.EmbeddedKafka b = broker;
        System.out.println("shardline cluster up: gRPC on " + cluster.address() + " (port " + cluster.port() + "), "
                + "OpenAI HTTP API on " + cluster.httpUrl() + "/v1");
        System.out.println("try: ./shardline chat --server " + cluster.address() + " \"Hello\"");
        System.out.println("or:  " + DemoCommand.curl(cluster.httpUrl(), cluster.coordinator().model().id(), "Hello", 32));
        if (kafka != null) {
            System.out.println("batch: ./shardline batch submit requests.jsonl --wait --server " + cluster.httpUrl());
        }
        System.out.flush();
        Shutdown.awaitSignal(() -> {
            cluster.close();
            if (b != null) b.close();
        });
        return 0;
    }

    static LocalCluster startLocal(Path model, int workers, int port, int threadsPerWorker, String dtype, int pipelines,
                                   int httpPort, java.util.function.Consumer<String> log) throws InterruptedException {
        return startLocal(model, workers, port, threadsPerWorker, dtype, pipelines, httpPort, log, Map.of());
    }

    /** {@code extra}: more coordinator config keys (the Kafka bootstrap for batch jobs). */
    static LocalCluster startLocal(Path model, int workers, int port, int threadsPerWorker, String dtype, int pipelines,
                                   int httpPort, java.util.function.Consumer<String> log, Map<String, String> extra)
            throws InterruptedException {
        int cores = Runtime.getRuntime().availableProcessors();
        int threads = threadsPerWorker > 0 ? threadsPerWorker : Math.max(1, cores / workers);
        long budget = physicalMemory() / Math.max(1, workers);
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("activation-dtype", dtype);
        flags.put("pipelines", Integer.toString(pipelines));
        flags.put("http-port", Integer.toString(httpPort));
        flags.putAll(extra);
        return LocalCluster.start(model, workers, port, threads, budget, flags, true, log);
    }

    static long physicalMemory() {
        return dev.shardline.worker.config.WorkerConfig.physicalMemory();
    }
}
