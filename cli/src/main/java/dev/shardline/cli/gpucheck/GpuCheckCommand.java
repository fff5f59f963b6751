package dev.shardline.cli.gpucheck;

import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kernels.VectorKernels;
import dev.shardline.worker.cuda.CudaAvailability;
import dev.shardline.worker.cuda.CudaBackend;
import dev.shardline.worker.cuda.CudaRuntime;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code ./shardline gpu-check}: proves a backend (the CUDA one, on a lent GPU) in one unattended run: every op
 * against the reference at QwQ-32B shapes, whole demo models end to end, and speed against the same run's copy
 * bandwidth and PyTorch. Prints a markdown report (and writes it to {@code --out}); exit code 0 only when every
 * check passed.
 */
@Command(name = "gpu-check", mixinStandardHelpOptions = true, version = "shardline 0.1.0",
        description = "Check a backend against the reference at QwQ shapes and time it (one unattended run on a GPU).")
public final class GpuCheckCommand implements Callable<Integer> {
    @Option(names = "--backend", defaultValue = "cuda", paramLabel = "cuda|cpu|reference",
            description = "backend under test (default cuda; cpu checks the harness without a GPU)")
    String backend;

    @Option(names = "--shapes", defaultValue = "qwq", paramLabel = "qwq|small",
            description = "qwq: QwQ-32B's layer shapes (default); small: tiny widths, seconds on a CPU")
    String shapes;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "seed of every random input")
    long seed;

    @Option(names = "--skip-e2e", description = "skip section 3 (demo models end to end)")
    boolean skipE2e;

    @Option(names = "--skip-timing", description = "skip section 4 (timing) and so the goals")
    boolean skipTiming;

    @Option(names = "--out", paramLabel = "FILE", description = "also write the markdown report here (after each section)")
    Path out;

    @Option(names = "--models", paramLabel = "DIR",
            description = "reuse DIR/tiny and DIR/small demo checkpoints (default: written to a temp dir and deleted)")
    Path models;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "cpu backend threads (default: all cores)")
    int threads;

    @Option(names = "--cuda-device", defaultValue = "0", paramLabel = "N",
            description = "GPU to check, an index among those CUDA_VISIBLE_DEVICES leaves visible (default 0)")
    int cudaDevice;

    @Option(names = "--cuda-debug-sync",
            description = "synchronise and check after every kernel launch (a fault names its own op; slower timings)")
    boolean cudaDebugSync;

    @Option(names = "--time-limit", defaultValue = "290", paramLabel = "SECONDS",
            description = "print the partial report and exit 3 after this long (0: no limit)")
    long timeLimit;

    /**
     * Runs gpu-check alone, without the other subcommands' classes: on a lent GPU the classpath then needs only the
     * cli classes and the model, worker and picocli jars ({@code java -cp ... dev.shardline.cli.gpucheck.GpuCheckCommand}).
     */
    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new GpuCheckCommand());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + Report.describe(ex));
            return GpuCheck.NO_BACKEND;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() {
        String name = backend.toLowerCase(Locale.ROOT);
        if (!name.equals("cuda") && !name.equals("cpu") && !name.equals("reference")) {
            throw new IllegalArgumentException("--backend must be cuda, cpu or reference, got \"" + backend + "\"");
        }
        Shapes.of(shapes, false);   // fails early on a bad --shapes
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        GpuCheck.Options options = new GpuCheck.Options(name, shapes, seed, skipE2e, skipTiming, out, models, n,
                timeLimit, 60);
        return new GpuCheck(options, System.out, System.err).run(factory(name, n, cudaDevice, cudaDebugSync),
                description(name, n, cudaDevice, cudaDebugSync));
    }

    static Supplier<Kernels> factory(String name, int threads) {
        return factory(name, threads, 0, false);
    }

    static Supplier<Kernels> factory(String name, int threads, int device, boolean debugSync) {
        return switch (name) {
            case "cuda" -> () -> CudaBackend.create(threads, device, debugSync);
            case "cpu" -> () -> {
                VectorKernels cpu = new VectorKernels(threads);
                cpu.warmUp();   // timings of compiled vector code, not of the interpreter
                return cpu;
            };
            default -> ReferenceKernels::new;
        };
    }

    static Supplier<String> description(String name, int threads) {
        return description(name, threads, 0, false);
    }

    /** For cuda: the checked device (name, memory, compute capability; the physical GPU under CUDA_VISIBLE_DEVICES), driver and runtime versions, free memory. */
    static Supplier<String> description(String name, int threads, int device, boolean debugSync) {
        return switch (name) {
            case "cuda" -> () -> {
                String selected = CudaBackend.requireUsable(device, debugSync);
                CudaAvailability probe = CudaRuntime.probe();
                long[] freeTotal = CudaRuntime.memoryInfo();
                return String.format(Locale.ROOT, "%s; %.1f GiB free; all GPUs: %s", selected,
                        freeTotal[0] / (double) (1L << 30), probe.message());
            };
            case "cpu" -> () -> "cpu (Vector API), " + threads + " threads";
            default -> () -> "reference (scalar, 1 thread)";
        };
    }
}
