package dev.shardline.cli;

import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.coordinator.server.CoordinatorProcess;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code ./shardline coordinator --model=DIR --workers=N ...}: the coordinator process. */
@Command(name = "coordinator", description = "Run the coordinator. Keys: --model, --workers, --host, --port, --block-size, "
        + "--token-budget, --max-running, --activation-dtype, --max-message-bytes, --heartbeat-ms, --worker-timeout-ms, "
        + "--kv-reserve-tokens, --max-kv-blocks, --model-id, --http-port (default 8000), --http-max-body-bytes, --api-keys, "
        + "--api-keys-file, ... (or SHARDLINE_COORDINATOR_* variables); it prints its gRPC address and HTTP URL.")
final class CoordinatorCommand implements Callable<Integer> {
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws InterruptedException {
        CoordinatorConfig config = CoordinatorConfig.parse(System.getenv(), Flags.parse(args));
        CoordinatorProcess coordinator = CoordinatorProcess.start(config, line -> System.err.println(line));
        System.out.println("coordinator: gRPC on " + coordinator.address() + ", OpenAI HTTP API on " + coordinator.httpUrl()
                + "/v1");
        System.out.flush();
        Shutdown.awaitSignal(coordinator);
        return 0;
    }
}
