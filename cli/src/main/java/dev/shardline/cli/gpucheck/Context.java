package dev.shardline.cli.gpucheck;

import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;

import java.io.PrintStream;

/**
 * What every section of a gpu-check run shares: the backend under test, the reference, the shapes, the random
 * source, the report and a progress stream. {@code tensors} are built on first use.
 */
final class Context {
    final Kernels backend;
    final ReferenceKernels reference = new ReferenceKernels();
    final Shapes shapes;
    final RandomTensors random;
    final Report report;
    final PrintStream log;
    private LayerTensors tensors;

    Context(Kernels backend, Shapes shapes, RandomTensors random, Report report, PrintStream log) {
        this.backend = backend;
        this.shapes = shapes;
        this.random = random;
        this.report = report;
        this.log = log;
    }

    /** The run's random layer and lm_head (built once, a few seconds at QwQ shapes). */
    LayerTensors tensors() {
        if (tensors == null) {
            long start = System.nanoTime();
            tensors = LayerTensors.create(random, shapes);
            log.printf("   (random %s layer + lm_head built in %.1f s)%n", shapes.name(), (System.nanoTime() - start) / 1e9);
        }
        return tensors;
    }

    /** Records one compared op: PASS when {@code error <= bound}, else FAIL. */
    void result(String op, String shape, String compared, double error, double bound) {
        report.row(error <= bound ? Report.Status.PASS : Report.Status.FAIL, op, shape, compared,
                ErrorMetric.format(error), ErrorMetric.format(bound));
    }

    /** Whether the backend under test is a GPU (the timings then use GPU-sized buffers). */
    boolean gpu() {
        return backend.name().equals("cuda");
    }
}
