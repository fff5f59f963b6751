package dev.shardline.model.host;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Process memory for weights that are read end to end once per decoded token: on Linux one anonymous mapping,
 * aligned to 2 MiB and advised for transparent huge pages ({@code madvise(MADV_HUGEPAGE)}), before any page is
 * touched. {@link Arena#allocate} zeroes its memory as it hands it out, which faults every page in as a 4 KiB page
 * (this machine's THP setting is {@code madvise}, so nothing collapses them later), and the weight kernels then
 * stream through a new page every 4 KiB. On 2 MiB pages the same kernels read 1.05-1.24x faster (same JVM,
 * alternating; docs/PERFORMANCE.md), and the load skips the zeroing pass.
 *
 * <p>Elsewhere (not Linux, no {@code mmap} in the C library, or a mapping the kernel refuses) it falls back to
 * {@link Arena#allocate}. The memory is zero-filled either way and released when the arena closes.
 */
public final class HugePageMemory {
    /** The huge page size on x86-64 and on arm64 with 4 KiB base pages. */
    static final long HUGE_PAGE = 2L << 20;

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;

    private static final MethodHandle MMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null;
        MethodHandle madvise = null;
        MethodHandle munmap = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            } catch (RuntimeException e) {   // no such symbol, or native access denied: use Arena memory
                mmap = null;
            }
        }
        MMAP = mmap;
        MADVISE = madvise;
        MUNMAP = munmap;
    }

    private HugePageMemory() {
    }

    /** Whether {@link #allocate} maps memory itself here (Linux with the C library's mmap); else it uses the arena. */
    public static boolean mapsMemory() {
        return MMAP != null;
    }

    /**
     * {@code bytes} of zeroed memory owned by {@code arena} (unmapped when it closes), 2 MiB aligned and advised for
     * huge pages where {@link #mapsMemory()}, else from {@code arena.allocate(bytes, 64)}.
     */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes);
        }
        if (MMAP == null || bytes == 0) {
            return arena.allocate(bytes, 64);
        }
        long length = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE + HUGE_PAGE;   // room to align the start
        MemorySegment mapping;
        try {
            mapping = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, length, PROT_READ_WRITE,
                    MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap of " + length + " bytes failed", t);
        }
        if (mapping.address() == -1L || mapping.address() == 0L) {   // MAP_FAILED: let the arena try, or say why not
            return arena.allocate(bytes, 64);
        }
        long start = (mapping.address() + HUGE_PAGE - 1) & -HUGE_PAGE;
        long advised = (bytes + HUGE_PAGE - 1) & -HUGE_PAGE;
        try {
            int unused = (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), advised, MADV_HUGEPAGE);   // advice only
        } catch (Throwable t) {
            unmap(mapping.address(), length);
            throw new IllegalStateException("madvise failed", t);
        }
        long base = mapping.address();
        return MemorySegment.ofAddress(start).reinterpret(bytes, arena, s -> unmap(base, length));
    }

    private static void unmap(long address, long length) {
        try {
            int unused = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), length);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }
}
