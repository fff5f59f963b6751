package dev.shardline.model.forward;

import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.ReferenceKernels;

import java.util.function.Supplier;
import java.util.stream.Stream;

/** The backends every forward-pass invariant runs on. */
final class KernelBackends {
    static Stream<Supplier<Kernels>> all() {
        return Stream.of(named("reference", ReferenceKernels::new));
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
