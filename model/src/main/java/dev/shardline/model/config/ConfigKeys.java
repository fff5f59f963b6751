package dev.shardline.model.config;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Parsing helpers for the process configs (worker, coordinator): env and flag keys, ints, byte sizes ("48G", "512M"). */
public final class ConfigKeys {

    /** Copies {@code PREFIX_SOME_KEY=v} as {@code some-key=v}; an unknown key under the prefix fails. */
    public static void fromEnv(Map<String, String> env, String prefix, Set<String> known, Map<String, String> into) {
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (!e.getKey().startsWith(prefix)) continue;
            String key = e.getKey().substring(prefix.length()).toLowerCase(Locale.ROOT).replace('_', '-');
            if (!known.contains(key)) {
                throw new ConfigKeyException(key, "unknown (from environment variable " + e.getKey() + "); known keys: "
                        + String.join(", ", new java.util.TreeSet<>(known)));
            }
            into.put(key, e.getValue());
        }
    }

    public static void fromFlags(Map<String, String> flags, Set<String> known, Map<String, String> into) {
        for (Map.Entry<String, String> e : flags.entrySet()) {
            if (!known.contains(e.getKey())) {
                throw new ConfigKeyException(e.getKey(), "unknown; known keys: " + String.join(", ", new java.util.TreeSet<>(known)));
            }
            if (e.getValue() != null) into.put(e.getKey(), e.getValue());
        }
    }

    public static String require(Map<String, String> v, String key) {
        String s = v.get(key);
        if (s == null || s.isBlank()) {
            throw new ConfigKeyException(key, "is required");
        }
        return s;
    }

    public static int intValue(Map<String, String> v, String key, int fallback) {
        String s = v.get(key);
        if (s == null || s.isBlank()) return fallback;
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new ConfigKeyException(key, "must be an integer, got \"" + s + "\"");
        }
    }

    /** A byte count: plain digits or with a K/M/G/T suffix (powers of 1024). */
    public static long bytesValue(Map<String, String> v, String key, long fallback) {
        String s = v.get(key);
        if (s == null || s.isBlank()) return fallback;
        return parseBytes(key, s);
    }

    public static long parseBytes(String key, String s) {
        String t = s.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long mult = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'K' -> mult = 1L << 10;
            case 'M' -> mult = 1L << 20;
            case 'G' -> mult = 1L << 30;
            case 'T' -> mult = 1L << 40;
            default -> { }
        }
        if (mult > 1) t = t.substring(0, t.length() - 1);
        try {
            double d = Double.parseDouble(t);
            if (d <= 0) throw new NumberFormatException();
            return (long) (d * mult);
        } catch (NumberFormatException e) {
            throw new ConfigKeyException(key, "must be a positive byte size like 512M or 48G, got \"" + s + "\"");
        }
    }

    private ConfigKeys() {
    }
}
