package dev.shardline.operator.reconcile;

import dev.shardline.operator.coordinator.ClusterView;
import dev.shardline.operator.desired.Names;
import dev.shardline.operator.desired.Settings;
import dev.shardline.operator.groups.GroupSteps;
import dev.shardline.operator.groups.GroupView;
import dev.shardline.operator.resource.InferenceCluster;
import dev.shardline.operator.resource.InferenceClusterStatus;

import java.util.ArrayList;
import java.util.List;

/** Builds the status from what one pass saw and decided (pure). */
final class Status {

    static InferenceClusterStatus of(InferenceCluster cr, InferenceClusterStatus before, Settings s, Names n,
                                     ClusterView view, String unreachable, List<GroupView> groups, GroupSteps steps,
                                     InferenceClusterReconciler.Wanted wanted, Double tokensPerSecondPerPipeline,
                                     String now) {
        long generation = generation(cr);
        int ready = view == null ? 0 : view.serving();
        int desired = wanted.pipelines();
        int pendingGroups = (int) groups.stream().filter(g -> g.podsPending() > 0).count();
        int live = (int) groups.stream().filter(g -> !g.draining()).count();

        List<Conditions.Value> c = new ArrayList<>();
        if (view == null) {
            c.add(new Conditions.Value(Conditions.READY, false, "CoordinatorUnreachable", unreachable));
        } else if (desired == 0) {
            c.add(new Conditions.Value(Conditions.READY, true, "ScaledToZero",
                    "no pipeline; requests wait in the coordinator's queue and scale it back up"));
        } else if (ready >= desired) {
            c.add(new Conditions.Value(Conditions.READY, true, "PipelinesServing", ready + " of " + desired + " pipelines serving"));
        } else {
            c.add(new Conditions.Value(Conditions.READY, false, "PipelinesNotServing", ready + " of " + desired + " pipelines serving"));
        }
        boolean progressing = !steps.progress().isEmpty() || ready != desired;
        c.add(new Conditions.Value(Conditions.PROGRESSING, progressing, progressing ? "Reconciling" : "Settled",
                !steps.progress().isEmpty() ? steps.progress() : progressing ? "waiting for " + desired + " pipelines to serve (" + ready + " now)"
                        : "nothing to do"));
        List<String> failed = view == null ? List.of()
                : view.pipelines().stream().filter(p -> p.state().equals("FAILED")).map(p -> "pipeline " + p.id()).toList();
        if (view == null) {
            c.add(new Conditions.Value(Conditions.DEGRADED, true, "CoordinatorUnreachable", unreachable));
        } else if (!failed.isEmpty()) {
            c.add(new Conditions.Value(Conditions.DEGRADED, true, "PipelinesFailed",
                    String.join(", ", failed) + " failed; their requests migrated"));
        } else {
            c.add(new Conditions.Value(Conditions.DEGRADED, false, "Healthy", "the coordinator answers and no pipeline failed"));
        }
        if (pendingGroups > 0) {
            c.add(new Conditions.Value(Conditions.SCALING_LIMITED, true, "Unschedulable", pendingGroups
                    + " worker group(s) cannot be scheduled (not enough resources, e.g. nvidia.com/gpu); counted as not there"));
        } else if (wanted.limited()) {
            c.add(new Conditions.Value(Conditions.SCALING_LIMITED, true, "MaxPipelines", wanted.reason()));
        } else {
            c.add(new Conditions.Value(Conditions.SCALING_LIMITED, false, "WithinLimits", "pipelines within [" + s.minPipelines()
                    + ", " + s.maxPipelines() + "]"));
        }

        List<InferenceClusterStatus.PipelinePlan> plan = new ArrayList<>();
        if (view != null) {
            for (ClusterView.Pipeline p : view.pipelines()) {
                if (!p.holdsWorkers()) continue;
                plan.add(new InferenceClusterStatus.PipelinePlan(p.id(), p.state(), p.stages().stream()
                        .map(st -> new InferenceClusterStatus.StagePlan(st.index(), st.workerId(), st.layerStart(), st.layerEnd()))
                        .toList()));
            }
        }
        InferenceClusterStatus.ScalingRecord last = before != null ? before.lastScaling() : null;
        int previous = before != null && before.desiredPipelines() != null ? before.desiredPipelines() : 0;
        if (before == null || previous != desired) {
            var d = wanted.decision();
            String drained = steps.drain().isEmpty() ? null : "group " + steps.drain().getFirst();
            last = new InferenceClusterStatus.ScalingRecord(now, previous, desired, wanted.reason(),
                    view == null ? null : view.batchBacklogTokens() + view.waitingTokens(),
                    view == null ? null : view.waitingRequests(), view == null ? null : view.kvUsage(),
                    d == null ? null : tokensPerSecondPerPipeline, drained);
        }
        return new InferenceClusterStatus(generation,
                Conditions.merge(before == null ? null : before.conditions(), generation, now, c),
                ready, desired, live, n.workerSelectorString(),
                view == null ? null : view.batchBacklogTokens() + view.waitingTokens(),
                view == null ? null : view.waitingRequests(), view == null ? null : view.kvUsage(),
                tokensPerSecondPerPipeline, plan, last, s.templateHash(), s.stages(), s.stagesReason());
    }

    /**
     * Automatic stages without a count yet: the coordinator has not answered (Progressing, not an error), or its
     * planner refused the budget (Degraded: the spec must change). Nothing about the workers changes meanwhile.
     */
    static InferenceClusterStatus stagesUnknown(InferenceCluster cr, InferenceClusterStatus before, Settings s, Names n,
                                                boolean refused, String message, String now) {
        long generation = generation(cr);
        String reason = refused ? "StagesUnplannable" : "PlanningStages";
        List<Conditions.Value> c = List.of(
                new Conditions.Value(Conditions.READY, false, reason, message),
                new Conditions.Value(Conditions.PROGRESSING, !refused, reason, refused
                        ? "fix workers.memoryBudget (or set spec.stages); no worker group is created meanwhile" : message),
                new Conditions.Value(Conditions.DEGRADED, refused, refused ? reason : "Starting", refused ? message
                        : "the coordinator is starting; worker groups follow its planner's answer"),
                new Conditions.Value(Conditions.SCALING_LIMITED, false, reason, "not scaling before the stages are known"));
        InferenceClusterStatus b = before != null ? before : empty();
        return new InferenceClusterStatus(generation, Conditions.merge(b.conditions(), generation, now, c), b.readyPipelines(),
                b.desiredPipelines(), b.groups(), n.workerSelectorString(), b.backlogTokens(), b.waitingRequests(), b.kvUsage(),
                b.tokensPerSecondPerPipeline(), b.plan(), b.lastScaling(), b.templateHash(), b.stages(),
                refused ? "auto: " + message : s.stagesReason());
    }

    private static InferenceClusterStatus empty() {
        return new InferenceClusterStatus(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    /** The spec cannot be acted on: said in Degraded and Ready, nothing else changes. */
    static InferenceClusterStatus invalid(InferenceCluster cr, InferenceClusterStatus before, String message, String now) {
        return degraded(cr, before, "InvalidSpec", message, now);
    }

    static InferenceClusterStatus failed(InferenceCluster cr, InferenceClusterStatus before, String message, String now) {
        return degraded(cr, before, "ReconcileFailed", message, now);
    }

    private static InferenceClusterStatus degraded(InferenceCluster cr, InferenceClusterStatus before, String reason,
                                                   String message, String now) {
        long generation = generation(cr);
        List<Conditions.Value> c = List.of(
                new Conditions.Value(Conditions.READY, false, reason, message),
                new Conditions.Value(Conditions.PROGRESSING, false, reason, "fix the resource; nothing is changed meanwhile"),
                new Conditions.Value(Conditions.DEGRADED, true, reason, message),
                new Conditions.Value(Conditions.SCALING_LIMITED, false, reason, "not scaling"));
        InferenceClusterStatus b = before != null ? before
                : empty();
        return new InferenceClusterStatus(generation, Conditions.merge(b.conditions(), generation, now, c), b.readyPipelines(),
                b.desiredPipelines(), b.groups(), b.selector(), b.backlogTokens(), b.waitingRequests(), b.kvUsage(),
                b.tokensPerSecondPerPipeline(), b.plan(), b.lastScaling(), b.templateHash(), b.stages(), b.stagesReason());
    }

    private static long generation(InferenceCluster cr) {
        return cr.getMetadata().getGeneration() == null ? 0 : cr.getMetadata().getGeneration();
    }

    private Status() {
    }
}
