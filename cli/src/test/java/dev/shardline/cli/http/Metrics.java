package dev.shardline.cli.http;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of Prometheus text format 0.0.4 (tests only): every line must be a HELP or TYPE comment or a
 * sample {@code name{label="value",...} number}; each family is declared before its samples.
 */
record Metrics(Map<String, String> types, List<Sample> samples) {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? ([^ ]+)( [0-9]+)?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"(,|$)");

    record Sample(String name, Map<String, String> labels, double value) {
    }

    static Metrics parse(String text) {
        Map<String, String> types = new LinkedHashMap<>();
        List<Sample> samples = new ArrayList<>();
        Set<String> helped = new LinkedHashSet<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) continue;
            if (line.startsWith("# HELP ")) {
                String name = line.substring(7).split(" ", 2)[0];
                if (!NAME.matcher(name).matches()) throw new AssertionError("bad metric name: " + line);
                helped.add(name);
            } else if (line.startsWith("# TYPE ")) {
                String[] p = line.substring(7).split(" ");
                if (p.length != 2 || !Set.of("counter", "gauge", "histogram", "summary", "untyped").contains(p[1])) {
                    throw new AssertionError("bad TYPE line: " + line);
                }
                types.put(p[0], p[1]);
            } else if (line.startsWith("#")) {
                throw new AssertionError("unexpected comment: " + line);
            } else {
                Matcher m = SAMPLE.matcher(line);
                if (!m.matches()) throw new AssertionError("not a sample line: " + line);
                Map<String, String> labels = new LinkedHashMap<>();
                if (m.group(3) != null && !m.group(3).isEmpty()) {
                    Matcher l = LABEL.matcher(m.group(3));
                    int end = 0;
                    while (l.find() && l.start() == end) {
                        labels.put(l.group(1), l.group(2));
                        end = l.end();
                    }
                    if (end != m.group(3).length()) throw new AssertionError("bad labels: " + line);
                }
                String v = m.group(4);
                double value = switch (v) {
                    case "+Inf" -> Double.POSITIVE_INFINITY;
                    case "-Inf" -> Double.NEGATIVE_INFINITY;
                    case "NaN" -> Double.NaN;
                    default -> Double.parseDouble(v);
                };
                String family = family(m.group(1), types);
                if (family == null) throw new AssertionError("sample before its TYPE: " + line);
                samples.add(new Sample(m.group(1), labels, value));
            }
        }
        return new Metrics(types, samples);
    }

    private static String family(String sample, Map<String, String> types) {
        if (types.containsKey(sample)) return sample;
        for (String suffix : List.of("_total", "_bucket", "_count", "_sum", "_created")) {
            if (sample.endsWith(suffix) && types.containsKey(sample.substring(0, sample.length() - suffix.length()))) {
                return sample.substring(0, sample.length() - suffix.length());
            }
        }
        return null;
    }

    /** The sum of a sample's values over the series whose labels include the given pairs (0 when none). */
    long value(String name, String... labelPairs) {
        return Math.round(sum(name, labelPairs));
    }

    double sum(String name, String... labelPairs) {
        double total = 0;
        for (Sample s : samples) {
            if (!s.name().equals(name)) continue;
            boolean match = true;
            for (int i = 0; i < labelPairs.length; i += 2) {
                match &= labelPairs[i + 1].equals(s.labels().get(labelPairs[i]));
            }
            if (match) total += s.value();
        }
        return total;
    }
}
