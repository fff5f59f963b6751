package dev.shardline.cli;

import dev.shardline.cli.gpucheck.GpuCheckCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ./shardline} entry point. Each subcommand is a small class in this package. */
@Command(name = "shardline", mixinStandardHelpOptions = true, version = "shardline 0.1.0",
        description = "Serve Qwen2-architecture models (QwQ-32B) on CPU today, on a cluster tomorrow.",
        subcommands = {DemoCommand.class, UpCommand.class, ChatCommand.class, GenerateCommand.class, TokenizeCommand.class,
                ModelCommand.class, BenchCommand.class, CoordinatorCommand.class, WorkerCommand.class,
                StatusCommand.class, ScaleCommand.class, DrainCommand.class, OperatorCommand.class,
                GpuCheckCommand.class,
                BatchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit code (tests call this in-process). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + Errors.describe(ex));
            if (System.getenv("SHARDLINE_DEBUG") != null) {
                ex.printStackTrace(commandLine.getErr());
            }
            return Errors.exitCode(ex);
        });
        return cl.execute(args);
    }
}
