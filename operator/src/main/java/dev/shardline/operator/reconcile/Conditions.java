package dev.shardline.operator.reconcile;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;

import java.util.ArrayList;
import java.util.List;

/** The four conditions, keeping lastTransitionTime when a condition's status did not change. */
final class Conditions {
    static final String READY = "Ready";
    static final String PROGRESSING = "Progressing";
    static final String DEGRADED = "Degraded";
    static final String SCALING_LIMITED = "ScalingLimited";

    record Value(String type, boolean status, String reason, String message) {
    }

    static List<Condition> merge(List<Condition> previous, long generation, String now, List<Value> values) {
        List<Condition> out = new ArrayList<>();
        for (Value v : values) {
            String status = v.status() ? "True" : "False";
            String since = now;
            if (previous != null) {
                for (Condition c : previous) {
                    if (c.getType().equals(v.type()) && status.equals(c.getStatus()) && c.getLastTransitionTime() != null) {
                        since = c.getLastTransitionTime();
                    }
                }
            }
            out.add(new ConditionBuilder().withType(v.type()).withStatus(status).withReason(v.reason())
                    .withMessage(v.message()).withObservedGeneration(generation).withLastTransitionTime(since).build());
        }
        return out;
    }

    private Conditions() {
    }
}
