package dev.shardline.model.host;

import dev.shardline.model.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

/**
 * The integer kernels of {@code libshardline_quant.so} (model/src/main/native, docs/adr/0016): one-token products
 * of Q4_K, Q6_K and Q8_0 weights, read in place, with the activations quantized to int8 so that the products run
 * on integer multiply-adds (vpmaddubsw, vpmaddwd, vpdpbusd), which the Vector API lacks. Used by the CPU
 * backend {@code cpu-int8}; the library is built where gcc exists and runs where the CPU has AVX-512 F, BW, VL,
 * DQ, VBMI and VNNI. Called through FFM downcalls; like {@link HugePageMemory}, this package is where the model
 * module may call native code.
 *
 * <p>Per product: {@link #prepare} once (quantizes the activations into a buffer of {@link #activationBytes}),
 * then {@link #rows} on each thread for its rows. Every segment must be native and alive for the call.
 */
public final class NativeQuantKernels {
    private static final String RESOURCE = "/native/linux-x86_64/libshardline_quant.so";

    private NativeQuantKernels() {
    }

    /** Whether the library is loaded and this CPU runs it. */
    public static boolean available() {
        return Library.REASON == null;
    }

    /** Why the kernels cannot run here, or empty when they can. */
    public static Optional<String> unavailableReason() {
        return Optional.ofNullable(Library.REASON);
    }

    /** Whether {@link #rows} takes weights of type {@code t} with {@code k} columns (Q4_K, Q6_K: k % 256 == 0; Q8_0: k % 32 == 0). */
    public static boolean handles(DType t, int k) {
        return available() && activationBytes(t, k) >= 0;
    }

    /** Bytes of the quantized activations for {@code k} columns and weight type {@code t}; -1 if not handled. */
    public static long activationBytes(DType t, int k) {
        int code = code(t);
        if (code == 0 || !available()) return -1;
        try {
            return (long) Library.ACT_BYTES.invokeExact(code, k);
        } catch (Throwable e) {
            throw new IllegalStateException("shardline_quant_act_bytes", e);
        }
    }

    /** Quantizes {@code x[0, k)} (native floats) into {@code act} (native, 64-byte aligned) for weights of type {@code t}. */
    public static void prepare(DType t, MemorySegment x, int k, MemorySegment act) {
        check(x.byteSize() >= 4L * k && act.byteSize() >= activationBytes(t, k), "prepare: buffers too small");
        check(act.address() % 64 == 0, "prepare: the activation buffer must be 64-byte aligned");
        int rc;
        try {
            rc = (int) Library.PREPARE.invokeExact(code(t), x, k, act);
        } catch (Throwable e) {
            throw new IllegalStateException("shardline_quant_prepare", e);
        }
        check(rc == 0, "prepare: " + t + " with " + k + " columns is not handled");
    }

    /**
     * {@code out[r] = sum_k x[k] w[r, k]} for rows [r0, r1) of {@code w} (rows of {@code rowBytes}), from
     * {@link #prepare}'s activations; {@code out} holds native floats indexed by row.
     */
    public static void rows(DType t, MemorySegment w, long rowBytes, int k, MemorySegment act, int r0, int r1,
                            MemorySegment out) {
        check(r0 >= 0 && r0 <= r1 && r1 * rowBytes <= w.byteSize() && 4L * r1 <= out.byteSize(),
                "rows: rows [" + r0 + ", " + r1 + ") outside the weights or the output");
        int rc;
        try {
            rc = (int) Library.ROWS.invokeExact(code(t), w, rowBytes, k, act, r0, r1, out);
        } catch (Throwable e) {
            throw new IllegalStateException("shardline_quant_rows", e);
        }
        check(rc == 0, "rows: " + t + " with " + k + " columns is not handled");
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new IllegalArgumentException("native quantized kernels: " + what);
    }

    private static int code(DType t) {
        return switch (t) {
            case Q4_K -> 1;
            case Q6_K -> 2;
            case Q8_0 -> 3;
            default -> 0;
        };
    }

    /** Loaded on first use: the library extracted from the jar, its entry points, or why not. */
    private static final class Library {
        static final MethodHandle ACT_BYTES;
        static final MethodHandle PREPARE;
        static final MethodHandle ROWS;
        static final String REASON;

        static {
            MethodHandle actBytes = null;
            MethodHandle prepare = null;
            MethodHandle rows = null;
            String reason;
            try {
                SymbolLookup lib = SymbolLookup.libraryLookup(extract(), Arena.global());
                Linker linker = Linker.nativeLinker();
                MethodHandle supported = linker.downcallHandle(find(lib, "shardline_quant_supported"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                actBytes = linker.downcallHandle(find(lib, "shardline_quant_act_bytes"),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                prepare = linker.downcallHandle(find(lib, "shardline_quant_prepare"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                                ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                rows = linker.downcallHandle(find(lib, "shardline_quant_rows"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                                ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                reason = (int) supported.invokeExact() == 1 ? null
                        : "this CPU lacks AVX-512 F/BW/VL/DQ/VBMI/VNNI, which libshardline_quant.so needs";
            } catch (Unavailable e) {
                reason = e.getMessage();
            } catch (Throwable e) {
                reason = "cannot load " + RESOURCE + ": " + e;
            }
            ACT_BYTES = actBytes;
            PREPARE = prepare;
            ROWS = rows;
            REASON = reason;
        }

        private static Path extract() throws Unavailable {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "");
            if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
                throw new Unavailable("libshardline_quant.so is built for linux-x86_64 only, this is " + os + "/" + arch);
            }
            try (InputStream in = NativeQuantKernels.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new Unavailable(RESOURCE + " is not in the model jar (it is built only where gcc is "
                            + "installed; see model/README.md)");
                }
                Path file = Files.createTempFile("libshardline_quant", ".so");
                file.toFile().deleteOnExit();
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                return file;
            } catch (IOException e) {
                throw new Unavailable("cannot extract " + RESOURCE + ": " + e.getMessage());
            }
        }

        private static MemorySegment find(SymbolLookup lib, String name) throws Unavailable {
            return lib.find(name).orElseThrow(() -> new Unavailable(RESOURCE + " has no symbol " + name));
        }
    }

    private static final class Unavailable extends Exception {
        Unavailable(String message) {
            super(message);
        }
    }
}
