package dev.shardline.cli.bench;

import java.util.Arrays;
import java.util.List;

/**
 * The figures of one benchmark run at one concurrency: throughput, time to first token and inter-token latency
 * percentiles, each stage's busy fraction and the activation bytes that crossed between stages; for a local
 * cluster also where a decode step's time went (stage compute vs everything else: hops, queues, coordinator).
 */
public record LoadRun(String setup, int concurrency, int generatedTokens, double seconds, double[] ttftMillis,
                      double[] itlMillis, double[] stageBusy, long bytesBetweenStages, String decodeBreakdown) {

    /** A run without a pipeline breakdown (single process, remote server). */
    public LoadRun(String setup, int concurrency, int generatedTokens, double seconds, double[] ttftMillis,
                   double[] itlMillis, double[] stageBusy, long bytesBetweenStages) {
        this(setup, concurrency, generatedTokens, seconds, ttftMillis, itlMillis, stageBusy, bytesBetweenStages, "");
    }

    public double throughput() {
        return generatedTokens / seconds;
    }

    public double ttft(double p) {
        return percentile(ttftMillis, p);
    }

    public double itl(double p) {
        return percentile(itlMillis, p);
    }

    static double percentile(double[] values, double p) {
        if (values.length == 0) return 0;
        double[] s = values.clone();
        Arrays.sort(s);
        int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, i))];
    }

    static double[] toArray(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).toArray();
    }

    public String row() {
        StringBuilder busy = new StringBuilder();
        for (int i = 0; i < stageBusy.length; i++) {
            busy.append(i == 0 ? "" : "/").append(String.format("%.0f%%", 100 * stageBusy[i]));
        }
        return String.format("%-22s %4d %9.1f %9.0f %9.0f %8.1f %8.1f %12s %10.1f", setup, concurrency, throughput(),
                ttft(50), ttft(99), itl(50), itl(99), busy.isEmpty() ? "-" : busy, bytesBetweenStages / 1e6);
    }

    public static String header() {
        return String.format("%-22s %4s %9s %9s %9s %8s %8s %12s %10s", "setup", "C", "tok/s", "TTFT p50", "TTFT p99",
                "ITL p50", "ITL p99", "stage busy", "MB between");
    }
}
