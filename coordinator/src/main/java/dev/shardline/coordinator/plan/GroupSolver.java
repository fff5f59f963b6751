package dev.shardline.coordinator.plan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Plans one pipeline over a group of workers. All decoder layers cost the same, so a stage's time and memory
 * depend only on its layer count and on whether it is the first (embedding) or last (norm + lm_head) stage; the
 * order of the middle workers changes nothing. The solver therefore (1) finds the smallest bottleneck time T
 * for which some choice of first and last worker lets the per-worker layer caps (memory and time within T)
 * cover every layer: a binary search over the finitely many stage times, each check O(workers^3); then (2)
 * among the first/last choices feasible at that T, deals the layers out greedily to maximise the smallest
 * stage KV capacity (the pipeline's capacity), keeping fewer stages on ties. Middle workers keep the given order.
 * Step (2) may use T x (1 + slack): a plan up to that much slower by the cost model that holds more KV (which also
 * evens out the layer counts, and with them prefill time) wins over the exact optimum.
 */
final class GroupSolver {
    static final int FIRST = 0;
    static final int MID = 1;
    static final int LAST = 2;
    static final int ONLY = 3;

    /** A solved pipeline: workers in stage order with their layer counts. */
    record Solution(List<WorkerOffer> workers, int[] counts, double bottleneck, long minKv) {
    }

    private final CostModel cm;
    private final int layers;
    private final int stageLimit;
    private final double slack;

    GroupSolver(CostModel cm, int maxStagesPerPipeline, double slack) {
        this.cm = cm;
        this.slack = slack;
        this.layers = cm.layers();
        this.stageLimit = maxStagesPerPipeline > 0 ? Math.min(maxStagesPerPipeline, layers) : layers;
    }

    int stageLimit() {
        return stageLimit;
    }

    static boolean first(int role) {
        return role == FIRST || role == ONLY;
    }

    static boolean last(int role) {
        return role == LAST || role == ONLY;
    }

    /** Most layers worker w can take in this role: within its budget and, unless T is infinite, within time T. */
    int cap(WorkerOffer w, int role, double t) {
        boolean f = first(role);
        boolean l = last(role);
        long fixed = cm.memoryNeed(0, f, l);
        long perLayer = cm.layerBytes() + cm.reserveBytesPerLayer();
        long c = w.memoryBudgetBytes() < fixed ? -1 : (w.memoryBudgetBytes() - fixed) / perLayer;
        if (c <= 0) {
            return 0;
        }
        int cap = (int) Math.min(c, layers);
        if (!Double.isInfinite(t)) {
            double head = l ? cm.headUnits() : 0.0;
            long byTime = (long) Math.floor(t * w.relativeSpeed() - head);
            cap = (int) Math.max(0, Math.min(cap, byTime + 1));
            while (cap > 0 && cm.costUnits(cap, l, w.relativeSpeed()) > t) {
                cap--;
            }
        }
        if (role == ONLY) {
            return cap == layers ? layers : 0;
        }
        return cap;
    }

    /** Layers the best first/last choice covers at time t (>= layers means feasible); -1 if no edge fits. */
    int bestCover(List<WorkerOffer> ws, double t) {
        int k = ws.size();
        int[][] caps = caps(ws, t);
        for (int i = 0; i < k; i++) {
            if (caps[ONLY][i] == layers) {
                return layers;
            }
        }
        Integer[] byMid = midOrder(caps, k);
        int best = -1;
        for (int f = 0; f < k && stageLimit >= 2; f++) {
            if (caps[FIRST][f] < 1) continue;
            for (int l = 0; l < k; l++) {
                if (l == f || caps[LAST][l] < 1) continue;
                int cover = caps[FIRST][f] + caps[LAST][l];
                int mids = 0;
                for (int j = 0; j < k && mids < stageLimit - 2; j++) {
                    int m = byMid[j];
                    if (m == f || m == l || caps[MID][m] < 1) continue;
                    cover += caps[MID][m];
                    mids++;
                }
                best = Math.max(best, cover);
            }
        }
        return best;
    }

    private int[][] caps(List<WorkerOffer> ws, double t) {
        int[][] caps = new int[4][ws.size()];
        for (int r = 0; r < 4; r++) {
            for (int i = 0; i < ws.size(); i++) {
                caps[r][i] = cap(ws.get(i), r, t);
            }
        }
        return caps;
    }

    private static Integer[] midOrder(int[][] caps, int k) {
        Integer[] order = new Integer[k];
        for (int i = 0; i < k; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> caps[MID][b] != caps[MID][a] ? Integer.compare(caps[MID][b], caps[MID][a]) : Integer.compare(a, b));
        return order;
    }

    /** The smallest feasible bottleneck, or NaN when the group cannot hold the model at all. */
    double minBottleneck(List<WorkerOffer> ws) {
        if (ws.isEmpty() || bestCover(ws, Double.POSITIVE_INFINITY) < layers) {
            return Double.NaN;
        }
        TreeSet<Double> set = new TreeSet<>();
        for (WorkerOffer w : ws) {
            for (int c = 1; c <= layers; c++) {
                set.add(cm.costUnits(c, false, w.relativeSpeed()));
                set.add(cm.costUnits(c, true, w.relativeSpeed()));
            }
        }
        double[] ts = set.stream().mapToDouble(Double::doubleValue).toArray();
        int lo = 0;
        int hi = ts.length - 1;                      // feasible: the largest time is at least what any stage needs
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (bestCover(ws, ts[mid]) >= layers) hi = mid;
            else lo = mid + 1;
        }
        return ts[lo];
    }

    /** The best pipeline over (a subset of) these workers, or null when they cannot hold the model. */
    Solution solve(List<WorkerOffer> ws) {
        double optimum = minBottleneck(ws);
        if (Double.isNaN(optimum)) {
            return null;
        }
        double t = optimum * (1 + slack);
        int k = ws.size();
        int[][] caps = caps(ws, t);
        Solution best = null;
        for (int i = 0; i < k; i++) {
            if (caps[ONLY][i] == layers) {
                best = better(best, deal(List.of(ws.get(i)), new int[]{ONLY}, new int[]{layers}));
            }
        }
        Integer[] byMid = midOrder(caps, k);
        for (int f = 0; f < k && stageLimit >= 2; f++) {
            if (caps[FIRST][f] < 1) continue;
            for (int l = 0; l < k; l++) {
                if (l == f || caps[LAST][l] < 1) continue;
                // a middle worker whose KV room with one layer is below v would cap the pipeline's capacity at
                // that; try each such floor v (dropping the mids below it) and keep the best deal
                TreeSet<Long> floors = new TreeSet<>();
                floors.add(Long.MIN_VALUE);
                for (int m = 0; m < k; m++) {
                    if (m != f && m != l && caps[MID][m] >= 1) floors.add(kv(ws.get(m), MID, 1));
                }
                for (long floor : floors) {
                    best = better(best, dealWith(ws, caps, byMid, f, l, floor));
                }
            }
        }
        return best;
    }

    /** The pipeline f, mids (KV room with one layer >= floor, largest caps first, given order), l; or null. */
    private Solution dealWith(List<WorkerOffer> ws, int[][] caps, Integer[] byMid, int f, int l, long floor) {
        int k = ws.size();
        boolean[] take = new boolean[k];
        int mids = 0;
        int sum = caps[FIRST][f] + caps[LAST][l];
        for (int j = 0; j < k && mids < stageLimit - 2; j++) {
            int m = byMid[j];
            if (m == f || m == l || caps[MID][m] < 1 || kv(ws.get(m), MID, 1) < floor) continue;
            take[m] = true;
            sum += caps[MID][m];
            mids++;
        }
        if (sum < layers) {
            return null;
        }
        List<WorkerOffer> order = new ArrayList<>();
        int[] roles = new int[mids + 2];
        int[] capList = new int[mids + 2];
        order.add(ws.get(f));
        roles[0] = FIRST;
        capList[0] = caps[FIRST][f];
        for (int m = 0; m < k; m++) {
            if (take[m]) {
                roles[order.size()] = MID;
                capList[order.size()] = caps[MID][m];
                order.add(ws.get(m));
            }
        }
        roles[order.size()] = LAST;
        capList[order.size()] = caps[LAST][l];
        order.add(ws.get(l));
        return deal(order, roles, capList);
    }

    private static Solution better(Solution a, Solution b) {
        if (a == null) return b;
        if (b == null) return a;
        if (b.minKv != a.minKv) return b.minKv > a.minKv ? b : a;
        if (b.counts.length != a.counts.length) return b.counts.length < a.counts.length ? b : a;
        return b.bottleneck < a.bottleneck ? b : a;
    }

    /** One layer to each stage, then each further layer to the stage whose KV capacity stays the largest. */
    private Solution deal(List<WorkerOffer> order, int[] roles, int[] caps) {
        int s = order.size();
        int[] counts = new int[s];
        Arrays.fill(counts, 1);
        if (roles.length == 1 && roles[0] == ONLY) {
            counts[0] = layers;
        }
        for (int left = layers - Arrays.stream(counts).sum(); left > 0; left--) {
            int pick = -1;
            long pickKv = -1;
            double pickCost = 0;
            for (int i = 0; i < s; i++) {
                if (counts[i] >= caps[i]) continue;
                long kv = kv(order.get(i), roles[i], counts[i] + 1);
                double cost = cm.costUnits(counts[i] + 1, last(roles[i]), order.get(i).relativeSpeed());
                if (kv > pickKv || (kv == pickKv && cost < pickCost)) {
                    pick = i;
                    pickKv = kv;
                    pickCost = cost;
                }
            }
            counts[pick]++;
        }
        long minKv = Long.MAX_VALUE;
        double bottleneck = 0;
        for (int i = 0; i < s; i++) {
            minKv = Math.min(minKv, kv(order.get(i), roles[i], counts[i]));
            bottleneck = Math.max(bottleneck, cm.costUnits(counts[i], last(roles[i]), order.get(i).relativeSpeed()));
        }
        return new Solution(List.copyOf(order), counts, bottleneck, minKv);
    }

    private long kv(WorkerOffer w, int role, int count) {
        return cm.kvCapacityTokens(w.memoryBudgetBytes(), count, first(role), last(role));
    }
}
