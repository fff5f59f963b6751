package dev.shardline.cli;

import dev.shardline.cli.client.AdminClient;
import dev.shardline.proto.v1.DrainResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code ./shardline drain --server H:P WORKER} (or {@code --pipeline N}): drains without losing a request. */
@Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Drain a worker (its process exits 0 once drained) or a whole pipeline (its workers go back to "
                + "the pool): no new requests go there, running ones finish or move to another pipeline.")
final class DrainCommand implements Callable<Integer> {
    @Mixin
    AdminOptions admin;

    @Parameters(index = "0", arity = "0..1", paramLabel = "WORKER")
    String worker;

    @Option(names = "--pipeline", paramLabel = "N", description = "drain this pipeline instead of a worker")
    Integer pipeline;

    @Option(names = "--deadline-ms", defaultValue = "0", paramLabel = "MS",
            description = "time running requests get before they move (0 = the coordinator's drain-timeout-ms)")
    int deadlineMs;

    @Override
    public Integer call() {
        if ((worker == null) == (pipeline == null)) {
            throw new IllegalArgumentException("name a WORKER or give --pipeline N (exactly one)");
        }
        try (AdminClient client = new AdminClient(admin.server, admin.token())) {
            DrainResponse r = worker != null ? client.drainWorker(worker, deadlineMs) : client.drainPipeline(pipeline, deadlineMs);
            if (r.getPipelineId() < 0) {
                System.out.println("worker " + worker + " was in the pool: it leaves now");
            } else {
                System.out.println("draining pipeline " + r.getPipelineId() + " (" + r.getSequences()
                        + " sequence(s) on it); ./shardline status shows the progress");
            }
        }
        return 0;
    }
}
