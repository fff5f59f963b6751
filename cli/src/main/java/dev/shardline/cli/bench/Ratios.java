package dev.shardline.cli.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The ratios the pipeline issue sets goals for, from one round of {@code bench --local} rows keyed "p{C}" (the
 * single process) and "w{N}c{C}" (a cluster of N workers). NaN where a round lacks the rows a ratio needs.
 *
 * @param c1Decode      2-stage ITL p50 against the process's at C=1 (goal: >= 0.9, i.e. lose at most 10%)
 * @param c16Throughput 2-stage throughput against the process's at C=16 (goal: >= 0.9)
 * @param pipelineBatching 2-stage throughput at C=16 over C=1 (goal: >= 5)
 * @param workerBatching   1-worker throughput at C=16 over C=1
 * @param processBatching  single-process throughput at C=16 over C=1
 */
public record Ratios(double c1Decode, double c16Throughput, double pipelineBatching, double workerBatching,
                     double processBatching) {

    public static Ratios of(Map<String, LoadRun> rows) {
        LoadRun p1 = rows.get("p1");
        LoadRun p16 = rows.get("p16");
        LoadRun w2c1 = rows.get("w2c1");
        LoadRun w2c16 = rows.get("w2c16");
        LoadRun w1c1 = rows.get("w1c1");
        LoadRun w1c16 = rows.get("w1c16");
        return new Ratios(
                p1 == null || w2c1 == null ? Double.NaN : p1.itl(50) / w2c1.itl(50),
                p16 == null || w2c16 == null ? Double.NaN : w2c16.throughput() / p16.throughput(),
                w2c1 == null || w2c16 == null ? Double.NaN : w2c16.throughput() / w2c1.throughput(),
                w1c1 == null || w1c16 == null ? Double.NaN : w1c16.throughput() / w1c1.throughput(),
                p1 == null || p16 == null ? Double.NaN : p16.throughput() / p1.throughput());
    }

    /** Each ratio's median over the rounds (the mean of the middle two for an even count). */
    public static Ratios median(List<Ratios> rounds) {
        if (rounds.isEmpty()) throw new IllegalArgumentException("no rounds");
        return new Ratios(median(rounds, Ratios::c1Decode), median(rounds, Ratios::c16Throughput),
                median(rounds, Ratios::pipelineBatching), median(rounds, Ratios::workerBatching),
                median(rounds, Ratios::processBatching));
    }

    private static double median(List<Ratios> rounds, ToDoubleFunction<Ratios> f) {
        double[] v = rounds.stream().mapToDouble(f).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (v.length == 0) return Double.NaN;
        int m = v.length / 2;
        return v.length % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
    }

    /** One line per ratio that this round has, with the goal where the issue sets one. */
    public String describe() {
        List<String> lines = new ArrayList<>();
        if (!Double.isNaN(c1Decode)) {
            lines.add(String.format("2-stage pipeline at C=1 vs one process: decode %.2fx (ITL p50; goal: lose at most 10%%)", c1Decode));
        }
        if (!Double.isNaN(c16Throughput)) {
            lines.add(String.format("2-stage pipeline at C=16 vs one process: throughput %.2fx (goal >= 0.9x)", c16Throughput));
        }
        if (!Double.isNaN(pipelineBatching)) {
            lines.add(String.format("2-stage pipeline C=16 vs C=1: throughput %.1fx (goal >= 5x)", pipelineBatching));
        }
        if (!Double.isNaN(workerBatching)) {
            lines.add(String.format("1 worker C=16 vs C=1: throughput %.1fx", workerBatching));
        }
        if (!Double.isNaN(processBatching)) {
            lines.add(String.format("one process C=16 vs C=1: throughput %.1fx", processBatching));
        }
        StringBuilder sb = new StringBuilder();
        for (String l : lines) sb.append(l).append(System.lineSeparator());
        return sb.toString();
    }

    @Override
    public String toString() {
        return Arrays.toString(new double[] {c1Decode, c16Throughput, pipelineBatching, workerBatching, processBatching});
    }
}
