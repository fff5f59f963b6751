package dev.shardline.cli;

import picocli.CommandLine.Option;

/** Where the coordinator is and its admin token (flag, else {@code SHARDLINE_ADMIN_TOKEN}). */
final class AdminOptions {
    @Option(names = "--server", defaultValue = "127.0.0.1:50051", paramLabel = "HOST:PORT")
    String server;

    @Option(names = "--admin-token", paramLabel = "TOKEN",
            description = "the coordinator's admin token (default: $SHARDLINE_ADMIN_TOKEN)")
    String token;

    String token() {
        return token != null ? token : System.getenv().getOrDefault("SHARDLINE_ADMIN_TOKEN", "");
    }
}
