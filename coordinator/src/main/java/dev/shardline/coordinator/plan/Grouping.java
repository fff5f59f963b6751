package dev.shardline.coordinator.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Splits workers into a given number of groups that can each hold the whole model. Tries three greedy groupings
 * (largest budget to the emptiest group; fill groups largest-first; fill with the smallest worker that completes
 * the group), then improves each by moving and swapping workers while the slowest pipeline gets faster (ties:
 * the summed throughput grows). Heuristic: bin covering is NP-hard, and 16 workers are too many to enumerate.
 */
final class Grouping {
    private static final int MAX_PASSES = 6;

    private final CostModel cm;
    private final GroupSolver solver;

    Grouping(CostModel cm, GroupSolver solver) {
        this.cm = cm;
        this.solver = solver;
    }

    /** p groups that each hold the model, or null when no heuristic finds them. */
    List<List<WorkerOffer>> form(List<WorkerOffer> workers, int p) {
        if (p > workers.size()) {
            return null;
        }
        List<WorkerOffer> sorted = new ArrayList<>(workers);
        sorted.sort(Comparator.comparingLong(WorkerOffer::memoryBudgetBytes).reversed()
                .thenComparing(Comparator.comparingDouble(WorkerOffer::relativeSpeed).reversed()));
        List<List<WorkerOffer>> best = null;
        double[] bestScore = null;
        List<List<List<WorkerOffer>>> candidates = new ArrayList<>();
        candidates.add(emptiestFirst(sorted, p));
        candidates.add(fill(sorted, p, false));
        candidates.add(fill(sorted, p, true));
        for (List<List<WorkerOffer>> g : candidates) {
            if (g == null || !allHold(g)) {
                continue;
            }
            improve(g);
            double[] score = score(g);
            if (best == null || better(score, bestScore)) {
                best = g;
                bestScore = score;
            }
        }
        return best;
    }

    /** Greedy groupings used by {@link #form}, exposed for shortfall messages. */
    List<List<WorkerOffer>> emptiestFirst(List<WorkerOffer> sorted, int p) {
        List<List<WorkerOffer>> groups = newGroups(p);
        long[] sums = new long[p];
        for (WorkerOffer w : sorted) {
            int g = 0;
            for (int i = 1; i < p; i++) if (sums[i] < sums[g]) g = i;
            groups.get(g).add(w);
            sums[g] += w.memoryBudgetBytes();
        }
        return groups;
    }

    private List<List<WorkerOffer>> fill(List<WorkerOffer> sorted, int p, boolean smallestCompleting) {
        List<WorkerOffer> left = new ArrayList<>(sorted);
        List<List<WorkerOffer>> groups = newGroups(p);
        for (List<WorkerOffer> g : groups) {
            while (!holds(g)) {
                if (left.isEmpty()) {
                    return null;
                }
                WorkerOffer pick = left.getFirst();
                if (smallestCompleting && !g.isEmpty()) {
                    for (int i = left.size() - 1; i >= 0; i--) {
                        g.add(left.get(i));
                        boolean ok = holds(g);
                        g.removeLast();
                        if (ok) {
                            pick = left.get(i);
                            break;
                        }
                    }
                }
                g.add(pick);
                left.remove(pick);
            }
        }
        for (WorkerOffer w : left) {                        // leftovers help the slowest pipeline
            int worst = 0;
            double worstB = -1;
            for (int i = 0; i < p; i++) {
                double b = solver.minBottleneck(groups.get(i));
                if (b > worstB) {
                    worst = i;
                    worstB = b;
                }
            }
            groups.get(worst).add(w);
        }
        return groups;
    }

    private void improve(List<List<WorkerOffer>> groups) {
        double[] score = score(groups);
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            boolean improved = false;
            for (int a = 0; a < groups.size(); a++) {
                for (int b = 0; b < groups.size(); b++) {
                    if (a == b) continue;
                    List<WorkerOffer> ga = groups.get(a);
                    List<WorkerOffer> gb = groups.get(b);
                    for (int i = 0; i < ga.size() && ga.size() > 1; i++) {      // move ga[i] to gb
                        WorkerOffer w = ga.remove(i);
                        gb.add(w);
                        double[] s = holds(ga) && holds(gb) ? score(groups) : null;
                        if (s != null && better(s, score)) {
                            score = s;
                            improved = true;
                            i--;
                        } else {
                            gb.removeLast();
                            ga.add(i, w);
                        }
                    }
                    if (a < b) {
                        for (int i = 0; i < ga.size(); i++) {                   // swap ga[i] and gb[j]
                            for (int j = 0; j < gb.size(); j++) {
                                WorkerOffer x = ga.get(i);
                                WorkerOffer y = gb.get(j);
                                ga.set(i, y);
                                gb.set(j, x);
                                double[] s = holds(ga) && holds(gb) ? score(groups) : null;
                                if (s != null && better(s, score)) {
                                    score = s;
                                    improved = true;
                                } else {
                                    ga.set(i, x);
                                    gb.set(j, y);
                                }
                            }
                        }
                    }
                }
            }
            if (!improved) {
                return;
            }
        }
    }

    /** {slowest pipeline's bottleneck, minus the summed throughput}: smaller is better. */
    private double[] score(List<List<WorkerOffer>> groups) {
        double max = 0;
        double throughput = 0;
        for (List<WorkerOffer> g : groups) {
            double b = solver.minBottleneck(g);
            max = Math.max(max, b);
            throughput += 1 / b;
        }
        return new double[]{max, -throughput};
    }

    private static boolean better(double[] s, double[] than) {
        double eps = 1e-9;
        if (s[0] < than[0] * (1 - eps)) return true;
        if (s[0] > than[0] * (1 + eps)) return false;
        return s[1] < than[1] - eps * Math.abs(than[1]);
    }

    boolean holds(List<WorkerOffer> g) {
        return !g.isEmpty() && solver.bestCover(g, Double.POSITIVE_INFINITY) >= cm.layers();
    }

    private boolean allHold(List<List<WorkerOffer>> groups) {
        return groups.stream().allMatch(this::holds);
    }

    private static List<List<WorkerOffer>> newGroups(int p) {
        List<List<WorkerOffer>> groups = new ArrayList<>();
        for (int i = 0; i < p; i++) groups.add(new ArrayList<>());
        return groups;
    }
}
