package dev.shardline.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code --key=value} / {@code --key value} arguments as a map, for the process configs that validate their keys. */
final class Flags {
    static Map<String, String> parse(List<String> args) {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument \"" + a + "\"; use --key=value");
            }
            String key = a.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                value = args.get(++i);
            } else {
                value = "true";
            }
            flags.put(key, value);
        }
        return flags;
    }

    private Flags() {
    }
}
