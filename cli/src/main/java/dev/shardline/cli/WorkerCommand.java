package dev.shardline.cli;

import dev.shardline.worker.server.WorkerMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ./shardline worker --coordinator=H:P --model=DIR ...}: one pipeline-stage process, run by
 * {@link WorkerMain#runProcess} (SIGTERM asks the coordinator for a drain, a second SIGTERM or SIGINT stops at once).
 */
@Command(name = "worker", description = "Run a worker (pipeline stage). Keys: --coordinator, --model, --host, --port, "
        + "--backend, --threads, --memory-budget, --worker-id (default: the host name), --weights, --drain-timeout-ms "
        + "(or SHARDLINE_WORKER_* variables); --stop-on-stdin-close=true|false. SIGTERM drains, a second one stops.")
final class WorkerCommand implements Callable<Integer> {
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        return WorkerMain.runProcess(System.getenv(), args.toArray(String[]::new));
    }
}
