package dev.shardline.cli.gpucheck;

import dev.shardline.cli.gpucheck.Report.Status;
import dev.shardline.model.kernels.Kernels;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * One gpu-check run: device, op checks, end to end, timing, summary. Every section (and every check inside one)
 * catches its own failure, reports it and lets the run go on, because the run happens once, unattended, on a lent
 * GPU. The markdown report is rewritten to {@code --out} after each section; a watchdog prints and writes the
 * partial report and halts the JVM (exit 3) if the run outlives its time limit (a hung kernel cannot be interrupted).
 */
final class GpuCheck {
    /** Exit codes: 0 every check passed, 1 a check failed or errored, 2 no backend, 3 time limit. */
    static final int OK = 0;
    static final int FAILED = 1;
    static final int NO_BACKEND = 2;
    static final int TIME_LIMIT = 3;

    /** What a run does; see {@link GpuCheckCommand} for the meaning of each option. */
    record Options(String backend, String shapes, long seed, boolean skipE2e, boolean skipTiming, Path out,
                   Path models, int threads, long timeLimitSeconds, long torchTimeoutSeconds) {
    }

    private final Options options;
    private final PrintStream stdout;
    private final PrintStream log;
    private final Report report;
    private volatile String current = "start";
    private volatile boolean finished;

    GpuCheck(Options options, PrintStream stdout, PrintStream log) {
        this.options = options;
        this.stdout = stdout;
        this.log = log;
        this.report = new Report(log);
    }

    /** Runs every section on the backend {@code factory} creates (and closes it); returns the exit code. */
    int run(Supplier<Kernels> factory, Supplier<String> deviceDescription) {
        Shapes shapes = Shapes.of(options.shapes(), options.backend().equals("cuda"));
        report.headerLine(String.format(Locale.ROOT, "backend **%s** · shapes **%s** · seed %d · %s",
                options.backend(), shapes.name(), options.seed(), Instant.now().truncatedTo(ChronoUnit.SECONDS)));
        Thread watchdog = startWatchdog();
        try {
            current = "1. Device";
            report.section("1. Device", null, "item", "value", "result");
            Kernels backend;
            try {
                backend = factory.get();
            } catch (Throwable e) {
                report.error("backend " + options.backend(), e);
                return finish(NO_BACKEND, "RESULT: FAIL (backend " + options.backend() + " unavailable: "
                        + Report.describe(e) + "); exit code " + NO_BACKEND);
            }
            try (RandomTensors random = new RandomTensors(options.seed()); Kernels k = backend) {
                Context c = new Context(k, shapes, random, report, log);
                device(c, deviceDescription);
                section("2. Op checks", () -> new OpChecks(c).run());
                Timing timing = new Timing(c, options.torchTimeoutSeconds());
                if (options.skipE2e()) {
                    skipped("3. End to end", "--skip-e2e");
                } else {
                    section("3. End to end", () -> new EndToEnd(c, options.models()).run());
                }
                if (options.skipTiming()) {
                    skipped("4. Timing", "--skip-timing");
                } else {
                    section("4. Timing", timing::run);
                }
                goals(timing);
            }
            int code = report.exitCode();
            return finish(code, (code == OK ? "RESULT: PASS (every check passed)" : "RESULT: FAIL (see the FAIL and "
                    + "ERROR rows)") + "; performance goals are reported above and do not change the exit code; "
                    + "exit code " + code);
        } finally {
            finished = true;
            watchdog.interrupt();
        }
    }

    private void device(Context c, Supplier<String> description) {
        try {
            report.row(Status.INFO, "backend", c.backend.name());
            report.row(Status.INFO, "device", description.get());
            report.row(Status.INFO, "host", Runtime.getRuntime().availableProcessors() + " cores, Java "
                    + Runtime.version() + ", max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        } catch (Throwable e) {
            report.error("device", e);
        }
    }

    private void section(String name, Runnable body) {
        current = name;
        long start = System.nanoTime();
        try {
            body.run();
        } catch (Throwable e) {
            report.error(name, e);
        }
        log.printf("   (%s: %.1f s)%n", name, (System.nanoTime() - start) / 1e9);
        writeOut(report.markdown(null));
    }

    private void skipped(String name, String why) {
        report.section(name, null, "section", "result");
        report.row(Status.NOT_RUN, "skipped by " + why);
    }

    private void goals(Timing t) {
        report.goal("decode matvec [" + shapeOfGate() + "] T=1: weight GB/s / B", text(t.matvecText),
                ">= 0.8", Timing.met(t.matvecRatio, t.matvecRatio >= 0.8));
        report.goal("one layer's decode step / floor (layer bytes / B)", text(t.layerText), "<= 1.3",
                Timing.met(t.layerDecodeOverFloor, t.layerDecodeOverFloor <= 1.3));
        report.goal("prefill matmul TFLOP/s / PyTorch bf16", text(t.prefillText), ">= 0.3",
                Timing.met(t.prefillOverTorch, t.prefillOverTorch >= 0.3));
    }

    private String shapeOfGate() {
        Shapes s = Shapes.of(options.shapes(), false);
        return s.intermediate() + "," + s.hidden();
    }

    private static String text(String s) {
        return s.isEmpty() ? "-" : s;
    }

    private int finish(int code, String verdict) {
        String md = report.markdown(verdict);
        stdout.print(md);
        stdout.flush();
        writeOut(md);
        return code;
    }

    private void writeOut(String markdown) {
        if (options.out() == null) return;
        try {
            Path parent = options.out().toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Files.writeString(options.out(), markdown, StandardCharsets.UTF_8);
        } catch (IOException e) {
            log.println("gpu-check: cannot write " + options.out() + ": " + e.getMessage());
        }
    }

    /** Prints and writes the partial report and halts the JVM once the time limit passes (0: no limit). */
    private Thread startWatchdog() {
        Thread t = Thread.ofPlatform().daemon().name("gpu-check-watchdog").unstarted(() -> {
            try {
                Thread.sleep(options.timeLimitSeconds() * 1000);
            } catch (InterruptedException e) {
                return;
            }
            if (finished) return;
            String verdict = "RESULT: FAIL (time limit of " + options.timeLimitSeconds() + " s reached during "
                    + current + "); exit code " + TIME_LIMIT;
            stdout.print(report.markdown(null) + "\n" + verdict + "\n");
            stdout.flush();
            writeOut(report.markdown(verdict));
            log.flush();
            Runtime.getRuntime().halt(TIME_LIMIT);
        });
        if (options.timeLimitSeconds() > 0) t.start();
        return t;
    }
}
