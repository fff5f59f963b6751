package dev.shardline.worker.host;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;

/**
 * Lowers the CPU priority of the calling thread only (Linux keeps a nice value per thread: {@code setpriority} with
 * the thread's own id), so that background work such as loading weights yields the cores to the stages that serve
 * on the same host. Lowering needs no privilege; raising it back would, so callers use a thread of their own for the
 * work. Elsewhere than Linux, or when libc does not offer the calls, nothing changes and the reason comes back.
 */
public final class ThreadNice {
    private static final int PRIO_PROCESS = 0;
    private static final Optional<Calls> CALLS = Calls.find();

    private record Calls(MethodHandle gettid, MethodHandle setpriority, MethodHandle getpriority) {
        static Optional<Calls> find() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                return Optional.empty();
            }
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                MethodHandle gettid = linker.downcallHandle(libc.find("gettid").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                MethodHandle set = linker.downcallHandle(libc.find("setpriority").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT));
                MethodHandle get = linker.downcallHandle(libc.find("getpriority").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                return Optional.of(new Calls(gettid, set, get));
            } catch (RuntimeException | LinkageError e) {
                return Optional.empty();
            }
        }
    }

    /**
     * Sets the calling thread's nice value to {@code nice} (0..19) when that is lower priority than it has now.
     *
     * @return empty when done (or nothing to do), else why not
     */
    public static Optional<String> lowerCurrentThread(int nice) {
        if (nice < 0 || nice > 19) {
            throw new IllegalArgumentException("nice must be 0..19, got " + nice);
        }
        if (CALLS.isEmpty()) {
            return Optional.of("thread priorities are only set on Linux with glibc");
        }
        try {
            Calls c = CALLS.get();
            int tid = (int) c.gettid().invokeExact();
            if (nice <= (int) c.getpriority().invokeExact(PRIO_PROCESS, tid)) {
                return Optional.empty();
            }
            int rc = (int) c.setpriority().invokeExact(PRIO_PROCESS, tid, nice);
            return rc == 0 ? Optional.empty() : Optional.of("setpriority(" + tid + ", " + nice + ") failed");
        } catch (Throwable t) {
            return Optional.of("setpriority failed: " + t);
        }
    }

    /** The calling thread's nice value, or empty where it cannot be read. */
    public static Optional<Integer> currentThread() {
        if (CALLS.isEmpty()) return Optional.empty();
        try {
            Calls c = CALLS.get();
            int tid = (int) c.gettid().invokeExact();
            return Optional.of((int) c.getpriority().invokeExact(PRIO_PROCESS, tid));
        } catch (Throwable t) {
            return Optional.empty();
        }
    }

    private ThreadNice() {
    }
}
