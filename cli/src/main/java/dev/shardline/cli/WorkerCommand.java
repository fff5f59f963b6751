package dev.shardline.cli;

import dev.shardline.worker.config.WorkerConfig;
import dev.shardline.worker.server.WorkerProcess;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ./shardline worker --coordinator=H:P --model=DIR ...}: one pipeline-stage process. */
@Command(name = "worker", description = "Run a worker (pipeline stage). Keys: --coordinator, --model, --host, --port, "
        + "--backend, --threads, --memory-budget, --worker-id (or SHARDLINE_WORKER_* variables).")
final class WorkerCommand implements Callable<Integer> {
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws InterruptedException {
        WorkerConfig config = WorkerConfig.parse(System.getenv(), Flags.parse(args));
        WorkerProcess worker = WorkerProcess.start(config, line -> System.err.println(line));
        Shutdown.awaitSignal(worker);
        return 0;
    }
}
