package dev.shardline.worker.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import java.util.TreeSet;

/**
 * Lists the CUDA fatbin entries of a library as {@code "elf sm_90"} / {@code "ptx sm_90"}, like
 * {@code cuobjdump --list-elf/--list-ptx} (not installed here). Layout as nvcc 13.0 writes it: header
 * {u32 magic 0xBA55ED50, u16 version, u16 header size, u64 size}, then entries {u16 kind (1 PTX, 2 ELF), u16,
 * u32 header size, u64 payload size, ..., u32 sm at byte 28}.
 */
final class Fatbin {
    private Fatbin() {
    }

    static Set<String> entries(byte[] library) {
        ByteBuffer b = ByteBuffer.wrap(library).order(ByteOrder.LITTLE_ENDIAN);
        Set<String> found = new TreeSet<>();
        for (int at = 0; at + 16 <= library.length; at += 8) {       // fatbins are 8-byte aligned
            if (b.getInt(at) != 0xBA55ED50) {
                continue;
            }
            int header = Short.toUnsignedInt(b.getShort(at + 6));
            long end = at + header + b.getLong(at + 8);
            long p = at + header;
            while (p + 32 <= end && end <= library.length) {
                int kind = Short.toUnsignedInt(b.getShort((int) p));
                int entryHeader = b.getInt((int) p + 4);
                long payload = b.getLong((int) p + 8);
                int sm = b.getInt((int) p + 28);
                found.add((kind == 1 ? "ptx" : kind == 2 ? "elf" : "kind" + kind) + " sm_" + sm);
                p += entryHeader + payload;
            }
            at = (int) Math.max(at, end - 8);
        }
        return found;
    }
}
