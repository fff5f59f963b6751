package dev.shardline.model.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class HugePageMemoryTest {

    @Test
    void memoryIsZeroedUsableAlignedAndReleasedWithItsArena() {
        long bytes = 5 * HugePageMemory.HUGE_PAGE + 3;
        Arena arena = Arena.ofShared();
        MemorySegment s = HugePageMemory.allocate(arena, bytes);
        assertEquals(bytes, s.byteSize());
        if (HugePageMemory.mapsMemory()) {
            assertEquals(0, s.address() % HugePageMemory.HUGE_PAGE, "mapping start " + Long.toHexString(s.address()));
        }
        for (long o = 0; o < bytes; o += 4093) assertEquals(0, s.get(ValueLayout.JAVA_BYTE, o), "byte " + o);
        for (long o = 0; o + 8 <= bytes; o += 8) s.set(ValueLayout.JAVA_LONG_UNALIGNED, o, o * 31);
        s.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 7);
        for (long o = 0; o + 8 <= bytes; o += 8 * 1021) assertEquals(o * 31, s.get(ValueLayout.JAVA_LONG_UNALIGNED, o));
        assertEquals(7, s.get(ValueLayout.JAVA_BYTE, bytes - 1));
        arena.close();
        assertFalse(s.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void linuxMapsItsOwnMemory() {
        assumeTrue(isLinux(), "mmap and madvise are used on Linux only; this is " + System.getProperty("os.name"));
        assertTrue(HugePageMemory.mapsMemory(), "on Linux the C library's mmap is expected to be found");
    }

    /** The point of the class: pages faulted in after the advice are huge pages where the kernel's THP allows it. */
    @Test
    void pagesAreHugeWhereTheKernelOffersThem() throws IOException {
        assumeTrue(isLinux(), "transparent huge pages are a Linux feature; this is " + System.getProperty("os.name"));
        Path setting = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        assumeTrue(Files.exists(setting) && !Files.readString(setting).contains("[never]"),
                "this kernel offers no transparent huge pages (" + setting + ")");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = HugePageMemory.allocate(arena, 8 * HugePageMemory.HUGE_PAGE);
            s.fill((byte) 1);
            long kb = anonHugeKb(s.address());
            assertTrue(kb >= 2048, "AnonHugePages of the mapping at " + Long.toHexString(s.address()) + ": " + kb + " kB");
        }
    }

    /** AnonHugePages of the mapping that holds {@code address}, from /proc/self/smaps. */
    private static long anonHugeKb(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (String line : lines) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                inside = Long.parseUnsignedLong(range[0], 16) <= address && address < Long.parseUnsignedLong(range[1], 16);
            } else if (inside && line.startsWith("AnonHugePages:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no mapping holds " + Long.toHexString(address));
    }

    private static boolean isLinux() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
    }
}
