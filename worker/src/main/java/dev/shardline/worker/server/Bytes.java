package dev.shardline.worker.server;

import java.util.Locale;

/** Byte counts for log lines and messages: "1.6 GB", "45.2 MB", "812 KB". */
final class Bytes {
    private Bytes() {
    }

    static String format(long bytes) {
        if (bytes >= 1_000_000_000L) return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
        if (bytes >= 1_000_000L) return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
        if (bytes >= 1_000L) return String.format(Locale.ROOT, "%.1f KB", bytes / 1e3);
        return bytes + " B";
    }

    /** "x.x of y.y GB" with one unit, chosen by the total. */
    static String progress(long done, long total) {
        double scale;
        String unit;
        if (total >= 1_000_000_000L) { scale = 1e9; unit = "GB"; }
        else if (total >= 1_000_000L) { scale = 1e6; unit = "MB"; }
        else { scale = 1e3; unit = "KB"; }
        return String.format(Locale.ROOT, "%.1f of %.1f %s", done / scale, total / scale, unit);
    }
}
