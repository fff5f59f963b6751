package dev.shardline.model.forward;

import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;
import dev.shardline.model.kernels.VectorKernels;

import java.util.function.Supplier;
import java.util.stream.Stream;

/** The backends every forward-pass invariant runs on. */
final class KernelBackends {
    static Stream<Supplier<Kernels>> all() {
        return Stream.of(named("reference", ReferenceKernels::new), named("cpu-2-threads", () -> new VectorKernels(2)),
                named("cpu-1-thread", () -> new VectorKernels(1)));
    }

    static Supplier<Kernels> named(String name, Supplier<Kernels> s) {
        return new Supplier<>() {
            @Override
            public Kernels get() {
                return s.get();
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    private KernelBackends() {
    }
}
