package dev.shardline.operator.main;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The operator's one config record: {@code SHARDLINE_OPERATOR_*} variables overlaid by {@code --key=value} flags;
 * unknown keys fail naming the key.
 *
 * @param namespace      the namespace to watch ("" = all)
 * @param leaderElection take a Lease before reconciling (two replicas are safe)
 * @param leaseNamespace where the Lease lives (default: the pod's namespace, POD_NAMESPACE)
 * @param period         how often each cluster is looked at without an event (the autoscaler's sampling)
 */
public record OperatorConfig(String namespace, boolean leaderElection, String leaseNamespace, Duration period) {
    public static final Set<String> KEYS = Set.of("namespace", "leader-election", "lease-namespace", "period-seconds");

    public static OperatorConfig parse(Map<String, String> env, String... args) {
        Map<String, String> v = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (!e.getKey().startsWith("SHARDLINE_OPERATOR_")) continue;
            String key = e.getKey().substring("SHARDLINE_OPERATOR_".length()).toLowerCase(Locale.ROOT).replace('_', '-');
            put(v, key, e.getValue(), "environment variable " + e.getKey());
        }
        for (String a : args) {
            if (!a.startsWith("--") || !a.contains("=")) throw new IllegalArgumentException("expected --key=value, got " + a);
            put(v, a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1), "flag " + a);
        }
        String le = v.getOrDefault("leader-election", "true");
        if (!le.equals("true") && !le.equals("false")) throw new IllegalArgumentException("leader-election: must be true or false, got " + le);
        int period;
        try {
            period = Integer.parseInt(v.getOrDefault("period-seconds", "10"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("period-seconds: must be a whole number, got " + v.get("period-seconds"));
        }
        if (period < 1 || period > 3600) throw new IllegalArgumentException("period-seconds: must be in [1, 3600], got " + period);
        return new OperatorConfig(v.getOrDefault("namespace", ""), le.equals("true"),
                v.getOrDefault("lease-namespace", env.getOrDefault("POD_NAMESPACE", "")), Duration.ofSeconds(period));
    }

    private static void put(Map<String, String> v, String key, String value, String from) {
        if (!KEYS.contains(key)) {
            throw new IllegalArgumentException(key + ": unknown (from " + from + "); known keys: " + String.join(", ", new java.util.TreeSet<>(KEYS)));
        }
        v.put(key, value);
    }
}
