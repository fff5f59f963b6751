package dev.shardline.cli;

import dev.shardline.cli.client.ClusterClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code ./shardline chat "..." --server H:P}: one chat turn against a running cluster, streamed. */
@Command(name = "chat", mixinStandardHelpOptions = true, description = "Send a chat message to a running cluster.")
final class ChatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MESSAGE")
    String message;

    @Option(names = "--server", defaultValue = "127.0.0.1:50051", paramLabel = "HOST:PORT")
    String server;

    @Option(names = "--system", paramLabel = "TEXT")
    String system;

    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() {
        try (ClusterClient client = new ClusterClient(server)) {
            GenerateCommand.StreamPrinter printer = new GenerateCommand.StreamPrinter(System.out, true);
            ClusterClient.Result r = client.chat(ClusterClient.chat(system, message, sampling.toProto()), printer::print);
            printer.end();
            RemoteOutput.summary(r);
        }
        return 0;
    }
}
