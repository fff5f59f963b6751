package dev.shardline.operator.reconcile;

import dev.shardline.operator.coordinator.ClusterView;
import dev.shardline.operator.desired.Names;
import dev.shardline.operator.groups.GroupView;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Pure: the worker pods that exist and the coordinator's view, to one {@link GroupView} per group. */
final class Groups {
    /** On a group's pods: the operator asked the coordinator to drain them. */
    static final String DRAINING = "shardline.dev/draining";

    /** @param stages pods per group; @param view null when the coordinator did not answer: then every running group counts as held by a pipeline */
    static List<GroupView> observe(List<Pod> pods, ClusterView view, int stages) {
        Map<Integer, List<Pod>> byGroup = new TreeMap<>();
        for (Pod p : pods) {
            String g = p.getMetadata().getLabels() == null ? null : p.getMetadata().getLabels().get(Names.LABEL_GROUP);
            if (g == null || !g.matches("[0-9]+")) continue;
            byGroup.computeIfAbsent(Integer.parseInt(g), k -> new ArrayList<>()).add(p);
        }
        Map<String, ClusterView.Pipeline> pipelineOf = new HashMap<>();
        Map<String, Integer> sequences = new HashMap<>();
        if (view != null) {
            for (ClusterView.Pipeline pl : view.pipelines()) {
                if (!pl.holdsWorkers()) continue;
                for (ClusterView.Stage s : pl.stages()) pipelineOf.put(s.workerId(), pl);
            }
            for (ClusterView.Worker w : view.workers()) sequences.put(w.id(), w.liveSequences());
        }
        List<GroupView> groups = new ArrayList<>();
        for (Map.Entry<Integer, List<Pod>> e : byGroup.entrySet()) {
            List<Pod> members = new ArrayList<>(e.getValue());
            members.sort(Comparator.comparing(p -> p.getMetadata().getName()));
            List<String> ids = members.stream().map(p -> p.getMetadata().getName()).toList();
            int pending = 0, finished = 0, live = 0;
            boolean draining = false, serving = !members.isEmpty(), inPipeline = false;
            for (Pod p : members) {
                if (unschedulable(p)) pending++;
                String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
                boolean done = "Succeeded".equals(phase) || "Failed".equals(phase);
                if (done) finished++;
                if (p.getMetadata().getAnnotations() != null && "true".equals(p.getMetadata().getAnnotations().get(DRAINING))) {
                    draining = true;
                }
                String id = p.getMetadata().getName();
                ClusterView.Pipeline pl = pipelineOf.get(id);
                if (view == null) {
                    if (!done) inPipeline = true;
                    serving = false;
                } else {
                    if (pl != null) inPipeline = true;
                    if (pl == null || !pl.serving()) serving = false;
                    live += sequences.getOrDefault(id, 0);
                }
            }
            // a group with a pod that ended or vanished (drained by hand, evicted) no longer forms a pipeline: it is
            // drained and replaced as a whole
            if (finished > 0 || members.size() < stages) draining = true;
            String hash = members.getFirst().getMetadata().getLabels().getOrDefault(Names.LABEL_TEMPLATE, "");
            groups.add(new GroupView(e.getKey(), hash, ids, pending, finished, serving, inPipeline, live, draining));
        }
        return groups;
    }

    /** Pending because no node can take it (e.g. no GPU free). */
    static boolean unschedulable(Pod p) {
        if (p.getStatus() == null || !"Pending".equals(p.getStatus().getPhase()) || p.getStatus().getConditions() == null) return false;
        for (PodCondition c : p.getStatus().getConditions()) {
            if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason())) return true;
        }
        return false;
    }

    private Groups() {
    }
}
