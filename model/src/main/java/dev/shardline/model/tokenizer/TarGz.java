package dev.shardline.model.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * A minimal reader for .tgz files (gzip + ustar/pax tar, as npm packs them): copies chosen regular files out.
 * Understands ustar name prefixes, pax "path" records and GNU long names; skips everything else.
 */
final class TarGz {
    private static final int BLOCK = 512;

    private TarGz() {
    }

    /**
     * Copies each entry whose path is a key of {@code wanted} to the mapped file; returns the entries found.
     */
    static Map<String, Path> extract(Path tgz, Map<String, Path> wanted) throws IOException {
        Map<String, Path> found = new HashMap<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz), 1 << 16)) {
            String longName = null;
            while (true) {
                byte[] header = in.readNBytes(BLOCK);
                if (header.length < BLOCK) throw new IOException(tgz + ": tar archive ends inside a header");
                if (isZero(header)) break;
                long size = number(header, 124, 12, tgz);
                char type = (char) header[156];
                String name = longName != null ? longName : name(header);
                longName = null;
                long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
                if (type == 'x' || type == 'L') {
                    if (size > 1 << 20) throw new IOException(tgz + ": tar extended header too large");
                    byte[] data = in.readNBytes((int) size);
                    in.skipNBytes(padded - size);
                    longName = type == 'L' ? cString(data, 0, data.length) : paxPath(data);
                    continue;
                }
                Path target = (type == '0' || type == 0) ? wanted.get(name) : null;
                if (target != null) {
                    try (OutputStream out = Files.newOutputStream(target)) {
                        copy(in, out, size, tgz);
                    }
                    in.skipNBytes(padded - size);
                    found.put(name, target);
                } else {
                    in.skipNBytes(padded);
                }
            }
        }
        return found;
    }

    private static void copy(InputStream in, OutputStream out, long size, Path tgz) throws IOException {
        byte[] buf = new byte[1 << 16];
        long left = size;
        while (left > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) throw new IOException(tgz + ": tar archive ends inside a file");
            out.write(buf, 0, r);
            left -= r;
        }
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) if (b != 0) return false;
        return true;
    }

    private static String name(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        String prefix = ustar ? cString(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] b, int from, int max) {
        int end = from;
        while (end < from + max && b[end] != 0) end++;
        return new String(b, from, end - from, StandardCharsets.UTF_8);
    }

    /** Octal (space/NUL padded) or GNU base-256 (high bit set) number. */
    private static long number(byte[] h, int from, int len, Path tgz) throws IOException {
        if ((h[from] & 0x80) != 0) {
            long v = h[from] & 0x7F;
            for (int i = from + 1; i < from + len; i++) v = (v << 8) | (h[i] & 0xFF);
            return v;
        }
        long v = 0;
        for (int i = from; i < from + len; i++) {
            int c = h[i];
            if (c == 0 || c == ' ') {
                if (v > 0) break;
                continue;
            }
            if (c < '0' || c > '7') throw new IOException(tgz + ": bad number in tar header");
            v = v * 8 + (c - '0');
        }
        return v;
    }

    /** The "path" value of pax records ("LEN path=VALUE\n"), or null. */
    private static String paxPath(byte[] data) {
        String s = new String(data, StandardCharsets.UTF_8);
        for (String record : s.split("\n")) {
            int space = record.indexOf(' ');
            if (space > 0 && record.startsWith("path=", space + 1)) return record.substring(space + 6);
        }
        return null;
    }
}
