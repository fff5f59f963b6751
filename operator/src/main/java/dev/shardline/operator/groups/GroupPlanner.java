package dev.shardline.operator.groups;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Pure: from the groups that exist and the pipelines wanted, the next steps. Whole groups only; a group that is
 * (or may be) in a pipeline is drained by name first and its pods removed only once no pipeline holds it, so no
 * request is killed. A template change rolls one group at a time: a new group comes up and serves before an old
 * one drains (one group of surge).
 */
public final class GroupPlanner {

    public static GroupSteps plan(int desired, String currentHash, List<GroupView> groups) {
        List<Integer> delete = new ArrayList<>();
        List<Integer> drain = new ArrayList<>();
        List<GroupView> live = new ArrayList<>();
        boolean drainInProgress = false;
        for (GroupView g : groups) {
            if (!g.draining()) {
                live.add(g);
            } else if (!g.inPipeline()) {
                delete.add(g.index());                      // drained: no pipeline holds it any more
            } else {
                drain.add(g.index());                       // keep asking until its workers are gone
                drainInProgress = true;
            }
        }
        List<GroupView> fresh = live.stream().filter(g -> g.templateHash().equals(currentHash)).toList();
        List<GroupView> stale = live.stream().filter(g -> !g.templateHash().equals(currentHash)).toList();
        boolean freshSettling = fresh.stream().anyMatch(g -> !g.serving());
        List<Integer> create = new ArrayList<>();
        String progress = "";

        if (stale.isEmpty()) {
            if (live.size() < desired) {
                create.addAll(freeIndices(groups, desired - live.size()));
                progress = "adding " + create.size() + " pipeline(s)";
            } else if (live.size() > desired) {
                Optional<GroupView> idle = live.stream().filter(g -> !g.inPipeline() && g.liveSequences() == 0)
                        .max(Comparator.comparingInt(GroupView::index));
                if (idle.isPresent()) {
                    delete.add(idle.get().index());         // never served: nothing to drain
                    progress = "removing group " + idle.get().index() + " (in no pipeline)";
                } else if (!drainInProgress) {
                    GroupView v = victim(live);
                    drain.add(v.index());
                    progress = "draining group " + v.index();
                }
            }
        } else {
            // rolling: surge one fresh group, drain one stale group once every fresh group serves
            if (desired == 0 || live.size() > desired + 1) {
                if (!drainInProgress) drain.add(victim(stale).index());
            } else if (!freshSettling && live.size() > desired) {
                if (!drainInProgress) drain.add(victim(stale).index());
            } else if (!freshSettling && !drainInProgress && live.size() <= desired) {
                create.addAll(freeIndices(groups, 1));
            }
            progress = "rolling the worker template: " + fresh.size() + " of " + desired + " groups updated";
        }
        if (progress.isEmpty() && (freshSettling || !drain.isEmpty() || !delete.isEmpty())) {
            progress = freshSettling ? "waiting for pipelines to serve" : "finishing a drain";
        }
        Set<Integer> leaving = new TreeSet<>(drain);
        int target = (int) live.stream().filter(g -> !leaving.contains(g.index()) && !delete.contains(g.index())).count()
                + create.size();
        return new GroupSteps(List.copyOf(create), List.copyOf(drain), List.copyOf(delete), target, progress);
    }

    /** Which group goes: pods that never scheduled first, then the least busy, then the newest. */
    static GroupView victim(List<GroupView> candidates) {
        return candidates.stream().max(Comparator.comparingInt((GroupView g) -> g.podsPending() > 0 ? 1 : 0)
                .thenComparing(Comparator.comparingInt(GroupView::liveSequences).reversed())
                .thenComparingInt(GroupView::index)).orElseThrow();
    }

    /** New indices above every index in use, so a drained worker's name is not reused while it may linger. */
    static List<Integer> freeIndices(List<GroupView> groups, int n) {
        int next = groups.stream().mapToInt(GroupView::index).max().orElse(-1) + 1;
        List<Integer> free = new ArrayList<>();
        for (int i = 0; i < n; i++) free.add(next + i);
        return free;
    }

    private GroupPlanner() {
    }
}
