package dev.shardline.coordinator.desired;

import dev.shardline.coordinator.plan.PipelinePlan;
import dev.shardline.coordinator.plan.PlanException;
import dev.shardline.coordinator.plan.PlanOptions;
import dev.shardline.coordinator.plan.ShardPlan;
import dev.shardline.coordinator.plan.ShardPlanner;
import dev.shardline.coordinator.plan.WorkerOffer;
import dev.shardline.model.weights.LayerRange;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The desired cluster as a pure function: from the workers, the pipelines and the target, the actions that move
 * the cluster towards what it should be. No I/O, no clock, no threads; the reconciler applies the actions and asks
 * again until nothing is left to do. The rules, in order:
 * <ol>
 *   <li>a forming, serving or draining pipeline fails when a worker of it is not alive or one of its links broke;</li>
 *   <li>a serving pipeline drains when an admin asked, or when one of its workers is leaving;</li>
 *   <li>with a target, serving pipelines beyond it drain (the least loaded first, then the newest);</li>
 *   <li>a draining pipeline is retired once empty, and evacuated (its sequences migrate) once its deadline passed;</li>
 *   <li>new pipelines form from the pool (alive, assignable workers in no pipeline, not leaving) while fewer than the
 *       target serve or form: the missing pipelines share all the pool's workers (one pipeline missing = every pool
 *       worker in it); with no target, the pool forms as many pipelines as it can hold. Workers that still hold a
 *       contiguous cover of the model (e.g. after a coordinator restart) re-form with their layers first; the rest is
 *       planned by the {@link ShardPlanner}.</li>
 * </ol>
 * Serving pipelines are never reshuffled: a re-plan only adds, drains or fails whole pipelines.
 */
public final class DesiredCluster {

    private DesiredCluster() {
    }

    public static List<Action> decide(ClusterView view, PlanInputs inputs) {
        Map<String, WorkerView> workers = new LinkedHashMap<>();
        for (WorkerView w : view.workers()) {
            workers.put(w.id(), w);
        }
        List<Action> actions = new ArrayList<>();
        Set<Integer> failing = new HashSet<>();
        Set<Integer> draining = new HashSet<>();
        for (PipelineView p : view.pipelines()) {
            if (!p.state().holdsWorkers()) continue;
            if (p.broken() != null) {
                actions.add(new Action.Fail(p.id(), p.broken()));
                failing.add(p.id());
                continue;
            }
            for (String id : p.workers()) {
                WorkerView w = workers.get(id);
                if (w == null || !w.alive()) {
                    actions.add(new Action.Fail(p.id(), "worker " + id + " was lost"));
                    failing.add(p.id());
                    break;
                }
            }
        }
        for (PipelineView p : view.pipelines()) {
            if (p.state() != PipelineState.SERVING || failing.contains(p.id())) continue;
            String leaving = p.workers().stream().filter(id -> workers.get(id).leaving()).findFirst().orElse(null);
            if (p.drainAsked() || leaving != null) {
                actions.add(new Action.Drain(p.id(), leaving != null ? "worker " + leaving + " is leaving"
                        : "an admin asked to drain it"));
                draining.add(p.id());
            }
        }
        List<PipelineView> serving = view.pipelines().stream()
                .filter(p -> p.state() == PipelineState.SERVING && !failing.contains(p.id()) && !draining.contains(p.id()))
                .sorted(Comparator.comparingInt(PipelineView::load).thenComparing(PipelineView::id, Comparator.reverseOrder()))
                .toList();
        if (view.targetPipelines() > 0) {
            for (int i = 0; i < serving.size() - view.targetPipelines(); i++) {
                actions.add(new Action.Drain(serving.get(i).id(), "the target is " + view.targetPipelines()
                        + " pipeline" + (view.targetPipelines() == 1 ? "" : "s")));
            }
        }
        for (PipelineView p : view.pipelines()) {
            if (p.state() != PipelineState.DRAINING || failing.contains(p.id())) continue;
            if (p.empty()) {
                actions.add(new Action.Retire(p.id()));
            } else if (p.drainExpired()) {
                actions.add(new Action.Evacuate(p.id()));
            }
        }
        if (view.mayForm()) {
            actions.addAll(form(view, workers, inputs));
        }
        return actions;
    }

    private static List<Action> form(ClusterView view, Map<String, WorkerView> workers, PlanInputs inputs) {
        Set<String> busy = new HashSet<>();
        int active = 0;
        for (PipelineView p : view.pipelines()) {
            if (p.state().holdsWorkers()) busy.addAll(p.workers());
            if (p.state() == PipelineState.SERVING || p.state() == PipelineState.FORMING) active++;
        }
        int need = view.targetPipelines() > 0 ? view.targetPipelines() - active : Integer.MAX_VALUE;
        List<WorkerView> pool = new ArrayList<>();
        for (WorkerView w : workers.values()) {
            if (w.alive() && w.assignable() && !w.leaving() && !busy.contains(w.id())) pool.add(w);
        }
        List<Action> forms = new ArrayList<>();
        while (need > 0) {
            PipelinePlan held = heldCover(pool, inputs);
            if (held == null) break;
            forms.add(new Action.Form(held, true));
            held.stages().forEach(s -> pool.removeIf(w -> w.id().equals(s.workerId())));
            need--;
        }
        if (need <= 0 || pool.isEmpty()) {
            return forms;
        }
        List<WorkerOffer> offers = pool.stream().map(w -> new WorkerOffer(w.id(), w.memoryBudgetBytes(),
                w.relativeSpeed() > 0 ? w.relativeSpeed() : 1.0)).toList();
        ShardPlan plan = plan(offers, view.targetPipelines() > 0 ? need : 0, inputs.forWorkers(pool));
        if (plan != null) {
            plan.pipelines().forEach(p -> forms.add(new Action.Form(p, false)));
        }
        return forms;
    }

    /**
     * The pool planned into {@code pipelines} pipelines that share all its workers (fewer when the pool cannot hold
     * that many copies), or as many as it can hold when {@code pipelines} is 0; null when not even one fits.
     */
    private static ShardPlan plan(List<WorkerOffer> pool, int pipelines, PlanInputs inputs) {
        for (int r = pipelines; r >= (pipelines == 0 ? 0 : 1); r--) {
            try {
                return ShardPlanner.plan(inputs.model(), inputs.bytesPerWeight(), pool, inputs.options().withReplicas(r));
            } catch (PlanException e) {
                if (r == 0) return null;                         // the pool cannot hold a whole copy yet
            }
        }
        return null;
    }

    /**
     * A pipeline from pool workers that already hold a contiguous cover of the model (first layer with the
     * embedding to the last with the head), in registration order where several could serve; null when none.
     */
    static PipelinePlan heldCover(List<WorkerView> pool, PlanInputs inputs) {
        Map<Integer, List<WorkerView>> byStart = new HashMap<>();
        for (WorkerView w : pool) {
            if (w.held() != null) byStart.computeIfAbsent(w.held().start(), k -> new ArrayList<>()).add(w);
        }
        int layers = inputs.model().numHiddenLayers();
        List<WorkerView> chain = new ArrayList<>();
        if (!extend(byStart, 0, layers, chain)) {
            return null;
        }
        List<WorkerOffer> offers = chain.stream().map(w -> new WorkerOffer(w.id(), w.memoryBudgetBytes(),
                w.relativeSpeed() > 0 ? w.relativeSpeed() : 1.0)).toList();
        List<LayerRange> ranges = chain.stream().map(WorkerView::held).toList();
        PlanOptions options = inputs.forWorkers(chain).options();
        return ShardPlanner.evaluate(inputs.model(), inputs.bytesPerWeight(), offers, ranges, options);
    }

    /** Depth-first: extends chain with workers whose held ranges continue at {@code start} up to the last layer. */
    private static boolean extend(Map<Integer, List<WorkerView>> byStart, int start, int layers, List<WorkerView> chain) {
        for (WorkerView w : byStart.getOrDefault(start, List.of())) {
            LayerRange r = w.held();
            if (r.embedding() != (start == 0) || r.count() == 0 || chain.contains(w)) continue;
            chain.add(w);
            if (r.end() == layers && r.head()) return true;
            if (!r.head() && r.end() < layers && extend(byStart, r.end(), layers, chain)) return true;
            chain.removeLast();
        }
        return false;
    }
}
