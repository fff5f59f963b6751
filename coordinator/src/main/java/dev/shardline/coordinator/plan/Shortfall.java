package dev.shardline.coordinator.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static dev.shardline.coordinator.plan.ShardPlanner.gb;

/** Builds the {@link PlanException} that says how many bytes are missing and where. */
final class Shortfall {

    private Shortfall() {
    }

    /** One pipeline over these workers does not fit. */
    static PlanException forPipeline(CostModel cm, GroupSolver solver, List<WorkerOffer> ws) {
        int layers = cm.layers();
        long perLayer = cm.layerBytes() + cm.reserveBytesPerLayer();
        long offered = ws.stream().mapToLong(WorkerOffer::memoryBudgetBytes).sum();
        String reserve = "KV reserve " + cm.reserveTokens() + " tokens x " + layers + " layers";
        long single = cm.memoryNeed(layers, true, true);
        long largest = ws.stream().mapToLong(WorkerOffer::memoryBudgetBytes).max().orElse(0);
        if (ws.size() == 1 || stageLimit(solver) == 1) {
            long missing = single - largest;
            return new PlanException("the model needs " + gb(single) + " on one worker (weights "
                    + gb(cm.weightBytes(layers, true, true)) + " + " + reserve + "); the largest worker offers "
                    + gb(largest) + ": short by " + missing + " bytes", missing);
        }
        long multi = cm.memoryNeed(0, true, false) + cm.memoryNeed(0, false, true) + layers * perLayer;
        if (offered < multi) {
            long missing = multi - offered;
            return new PlanException("the model needs " + gb(multi) + " across stages (weights "
                    + gb(cm.weightBytes(0, true, false) + cm.weightBytes(0, false, true) + layers * cm.layerBytes())
                    + " + " + reserve + " " + gb(layers * cm.reserveBytesPerLayer()) + "); " + ws.size()
                    + " workers offer " + gb(offered) + " in total: short by " + missing + " bytes", missing);
        }
        // enough bytes in total, but not in the right places: find the arrangement that covers the most layers
        int k = ws.size();
        int[][] caps = new int[3][k];
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < k; i++) caps[r][i] = solver.cap(ws.get(i), r, Double.POSITIVE_INFINITY);
        }
        int bestCover = -1;
        long bestSlack = 0;
        long edgeMissing = Long.MAX_VALUE;
        for (int f = 0; f < k; f++) {
            for (int l = 0; l < k; l++) {
                if (f == l) continue;
                long df = Math.max(0, cm.memoryNeed(1, true, false) - ws.get(f).memoryBudgetBytes());
                long dl = Math.max(0, cm.memoryNeed(1, false, true) - ws.get(l).memoryBudgetBytes());
                if (df > 0 || dl > 0) {
                    edgeMissing = Math.min(edgeMissing, df + dl);
                    continue;
                }
                int cover = caps[GroupSolver.FIRST][f] + caps[GroupSolver.LAST][l];
                long slack = Math.max(slack(cm, ws.get(f), caps[0][f], true, false), slack(cm, ws.get(l), caps[2][l], false, true));
                List<Integer> mids = new ArrayList<>();
                for (int m = 0; m < k; m++) if (m != f && m != l) mids.add(m);
                mids.sort(Comparator.comparingInt(m -> -caps[GroupSolver.MID][m]));
                for (int j = 0; j < mids.size() && j < stageLimit(solver) - 2; j++) {
                    int m = mids.get(j);
                    cover += caps[GroupSolver.MID][m];
                    slack = Math.max(slack, slack(cm, ws.get(m), caps[GroupSolver.MID][m], false, false));
                }
                if (cover > bestCover || (cover == bestCover && slack > bestSlack)) {
                    bestCover = cover;
                    bestSlack = slack;
                }
            }
        }
        if (bestCover < 0) {
            return new PlanException("no two workers can hold the edge stages: the first needs at least "
                    + gb(cm.memoryNeed(1, true, false)) + " (embedding + 1 layer + KV reserve), the last at least "
                    + gb(cm.memoryNeed(1, false, true)) + " (norm + lm_head + 1 layer + KV reserve); the largest worker offers "
                    + gb(largest) + ": short by " + edgeMissing + " bytes", edgeMissing);
        }
        int missingLayers = layers - bestCover;
        long missing = missingLayers * perLayer - bestSlack;
        return new PlanException("the workers' budgets hold at most " + bestCover + " of " + layers
                + " layers (a layer needs " + gb(perLayer) + " with its KV reserve; the edge stages also carry the "
                + "embedding and lm_head): short by " + missing + " bytes on one worker", missing);
    }

    /** The requested number of pipelines does not fit. */
    static PlanException forReplicas(CostModel cm, GroupSolver solver, Grouping grouping, List<WorkerOffer> ws, int n) {
        long single = cm.memoryNeed(cm.layers(), true, true);
        long offered = ws.stream().mapToLong(WorkerOffer::memoryBudgetBytes).sum();
        if (n > ws.size() || offered < n * single) {
            long missing = Math.max(n * single - offered, single);
            return new PlanException(n + " pipelines need at least " + n + " x " + gb(single) + "; "
                    + ws.size() + " workers offer " + gb(offered) + ": short by " + missing + " bytes", missing);
        }
        List<WorkerOffer> sorted = new ArrayList<>(ws);
        sorted.sort(Comparator.comparingLong(WorkerOffer::memoryBudgetBytes).reversed());
        List<List<WorkerOffer>> groups = grouping.emptiestFirst(sorted, n);
        for (int i = 0; i < groups.size(); i++) {
            if (!grouping.holds(groups.get(i))) {
                PlanException inner = forPipeline(cm, solver, groups.get(i));
                return new PlanException("cannot split " + ws.size() + " workers into " + n
                        + " pipelines that each hold the model; in the best grouping found, pipeline " + i + " ("
                        + String.join(", ", groups.get(i).stream().map(WorkerOffer::workerId).toList()) + ") fails: "
                        + inner.getMessage(), inner.shortfallBytes());
            }
        }
        return new PlanException("cannot split " + ws.size() + " workers into " + n
                + " pipelines that each hold the model: short by " + single + " bytes (one more model's worth)", single);
    }

    private static long slack(CostModel cm, WorkerOffer w, int cap, boolean first, boolean last) {
        return w.memoryBudgetBytes() - cm.memoryNeed(cap, first, last);
    }

    private static int stageLimit(GroupSolver solver) {
        return solver.stageLimit();
    }
}
