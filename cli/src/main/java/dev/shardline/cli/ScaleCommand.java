package dev.shardline.cli;

import dev.shardline.cli.client.AdminClient;
import dev.shardline.proto.v1.SetTargetPipelinesResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code ./shardline scale --server H:P --pipelines N}: sets how many pipelines a running cluster aims for. */
@Command(name = "scale", mixinStandardHelpOptions = true,
        description = "Set the number of pipelines a running cluster aims for (0 = as many as its workers allow). "
                + "More form from the pool as workers allow; surplus ones drain, never killed.")
final class ScaleCommand implements Callable<Integer> {
    @Mixin
    AdminOptions admin;

    @Option(names = "--pipelines", required = true, paramLabel = "N")
    int pipelines;

    @Override
    public Integer call() {
        try (AdminClient client = new AdminClient(admin.server, admin.token())) {
            SetTargetPipelinesResponse r = client.scale(pipelines);
            System.out.printf("target %d pipeline(s): %d serving, %d forming, %d draining (epoch %d.%d)%n", pipelines,
                    r.getServing(), r.getForming(), r.getDraining(), r.getEpoch() >>> 32, r.getEpoch() & 0xffffffffL);
        }
        return 0;
    }
}
