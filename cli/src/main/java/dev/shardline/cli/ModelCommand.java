package dev.shardline.cli;

import picocli.CommandLine.Command;

/** {@code ./shardline model ...}: checkpoint tools. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Checkpoint tools.",
        subcommands = {CreateModelCommand.class})
final class ModelCommand {
}
