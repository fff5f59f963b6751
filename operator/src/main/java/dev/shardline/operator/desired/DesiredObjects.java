package dev.shardline.operator.desired;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;

import java.util.ArrayList;
import java.util.List;

/** Everything one InferenceCluster should have, as a value. The worker pods come per group. */
public record DesiredObjects(ServiceAccount serviceAccount, Role role, RoleBinding roleBinding, ConfigMap config,
                             Deployment coordinator, Service coordinatorService, Service workersService,
                             PodDisruptionBudget disruptionBudget, NetworkPolicy networkPolicy,
                             List<List<Pod>> groups) {

    /** The objects other than pods, in the order they are applied. */
    public List<HasMetadata> shared() {
        return List.of(serviceAccount, role, roleBinding, config, workersService, coordinatorService, coordinator,
                disruptionBudget, networkPolicy);
    }

    public List<Pod> pods() {
        List<Pod> all = new ArrayList<>();
        groups.forEach(all::addAll);
        return all;
    }
}
