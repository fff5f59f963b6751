package dev.shardline.operator.desired;

import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodAffinityTerm;
import io.fabric8.kubernetes.api.model.PodAffinityTermBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.WeightedPodAffinityTermBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pure core of the operator: an InferenceCluster's identity and settings, and the worker groups that should
 * exist, to every Kubernetes object it should own. No client, no clock; tested without an API server.
 */
public final class Desired {
    /** Seconds a pod gets beyond the drain deadline before it is killed. */
    public static final int GRACE_MARGIN_SECONDS = 30;
    /** The image's entry point is {@code shardline}; coordinator, worker and operator are its subcommands. */
    public static final String CONTAINER = "shardline";

    /** Who owns the objects: the InferenceCluster's identity. */
    public record Owner(String apiVersion, String kind, String name, String namespace, String uid) {
        public static Owner of(HasMetadata cr) {
            return new Owner(cr.getApiVersion(), cr.getKind(), cr.getMetadata().getName(), cr.getMetadata().getNamespace(),
                    cr.getMetadata().getUid());
        }
    }

    public static DesiredObjects of(Owner owner, Settings s, List<WorkerGroup> groups) {
        Names n = new Names(owner.name());
        if (!groups.isEmpty() && s.stages() < 1) {
            throw new IllegalStateException("worker groups need a stage count: plan the automatic stages first");
        }
        List<List<Pod>> pods = new ArrayList<>();
        for (WorkerGroup g : groups) {
            List<Pod> group = new ArrayList<>();
            for (int stage = 0; stage < s.stages(); stage++) group.add(worker(owner, n, s, g, stage));
            pods.add(List.copyOf(group));
        }
        return new DesiredObjects(serviceAccount(owner, n), role(owner, n), roleBinding(owner, n), config(owner, n, s),
                coordinator(owner, n, s), coordinatorService(owner, n), workersService(owner, n),
                disruptionBudget(owner, n), networkPolicy(owner, n), List.copyOf(pods));
    }

    static ObjectMeta meta(Owner owner, String name, Map<String, String> labels) {
        OwnerReference ref = new OwnerReferenceBuilder().withApiVersion(owner.apiVersion()).withKind(owner.kind())
                .withName(owner.name()).withUid(owner.uid()).withController(true).withBlockOwnerDeletion(true).build();
        return new ObjectMetaBuilder().withName(name).withNamespace(owner.namespace()).withLabels(labels)
                .withOwnerReferences(ref).build();
    }

    // ---- identity and access ----

    /** The pods' account: no API token is mounted (coordinator and workers never call the Kubernetes API). */
    static ServiceAccount serviceAccount(Owner o, Names n) {
        return new ServiceAccountBuilder().withMetadata(meta(o, n.serviceAccount(), n.common("identity")))
                .withAutomountServiceAccountToken(false).build();
    }

    /** Least privilege: read its own ConfigMap, nothing else. */
    static Role role(Owner o, Names n) {
        return new RoleBuilder().withMetadata(meta(o, n.role(), n.common("identity")))
                .addNewRule().withApiGroups("").withResources("configmaps").withResourceNames(n.config())
                .withVerbs("get").endRule().build();
    }

    static RoleBinding roleBinding(Owner o, Names n) {
        return new RoleBindingBuilder().withMetadata(meta(o, n.role(), n.common("identity")))
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName(n.role()).endRoleRef()
                .addNewSubject().withKind("ServiceAccount").withName(n.serviceAccount()).withNamespace(o.namespace()).endSubject()
                .build();
    }

    /** Further coordinator keys, as the environment variables the coordinator reads. */
    static ConfigMap config(Owner o, Names n, Settings s) {
        Map<String, String> data = new LinkedHashMap<>();
        s.coordinatorConfig().forEach((k, v) -> data.put(envName("SHARDLINE_COORDINATOR_", k), v));
        if (s.kafka() != null) {
            data.put(envName("SHARDLINE_COORDINATOR_", CoordinatorKeys.KAFKA_BOOTSTRAP), s.kafka().bootstrapServers());
            if (s.kafka().requestsTopic() != null) data.put(envName("SHARDLINE_COORDINATOR_", CoordinatorKeys.KAFKA_REQUESTS), s.kafka().requestsTopic());
            if (s.kafka().resultsTopic() != null) data.put(envName("SHARDLINE_COORDINATOR_", CoordinatorKeys.KAFKA_RESULTS), s.kafka().resultsTopic());
            data.put(envName("SHARDLINE_COORDINATOR_", CoordinatorKeys.KAFKA_GROUP),
                    s.kafka().group() != null ? s.kafka().group() : o.name());
        }
        return new ConfigMapBuilder().withMetadata(meta(o, n.config(), n.common("coordinator"))).withData(data).build();
    }

    static String envName(String prefix, String key) {
        return prefix + key.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
    }

    // ---- the coordinator ----

    static Deployment coordinator(Owner o, Names n, Settings s) {
        Map<String, String> labels = n.common("coordinator");
        List<EnvVar> env = new ArrayList<>(List.of(
                env("SHARDLINE_COORDINATOR_HOST", "0.0.0.0"),
                env("SHARDLINE_COORDINATOR_PORT", String.valueOf(Names.GRPC_PORT)),
                env("SHARDLINE_COORDINATOR_HTTP_PORT", String.valueOf(Names.HTTP_PORT)),
                fieldEnv("SHARDLINE_COORDINATOR_ADVERTISE_HOST", "status.podIP"),
                env("SHARDLINE_COORDINATOR_MODEL", s.modelDir()),
                env("SHARDLINE_COORDINATOR_MODEL_ID", s.model().id()),
                env("SHARDLINE_COORDINATOR_DRAIN_TIMEOUT_MS", String.valueOf(s.drainTimeoutSeconds() * 1000L)),
                secretEnv("SHARDLINE_COORDINATOR_ADMIN_TOKEN", n.adminSecret(), "token")));
        // automatic stages: the coordinator plans them, so its Deployment must not depend on the answer (its
        // default of 1 worker before the first plan applies; pipelines form as workers join)
        if (!s.autoStages()) env.add(6, env("SHARDLINE_COORDINATOR_WORKERS", String.valueOf(s.stages())));
        if (s.apiKeySecret() != null) {
            env.add(secretEnv("SHARDLINE_COORDINATOR_API_KEYS", s.apiKeySecret().name(), s.apiKeySecret().key()));
        }
        Container c = new ContainerBuilder().withName(CONTAINER).withImage(s.image()).withImagePullPolicy(s.pullPolicy())
                .withArgs("coordinator").withEnv(env)
                .addNewEnvFrom().withNewConfigMapRef().withName(n.config()).endConfigMapRef().endEnvFrom()
                .addNewPort().withName("grpc").withContainerPort(Names.GRPC_PORT).endPort()
                .addNewPort().withName("http").withContainerPort(Names.HTTP_PORT).endPort()
                // liveness: the process answers; readiness: HTTP up. A coordinator with no pipeline stays in the
                // Service: it queues requests, which is the demand that scales the workers back up from zero
                .withLivenessProbe(grpcProbe(Names.GRPC_PORT, "liveness", 10, 6))
                .withReadinessProbe(new ProbeBuilder().withNewHttpGet().withPath("/health").withNewPort("http").endHttpGet()
                        .withPeriodSeconds(5).withFailureThreshold(3).build())
                .withStartupProbe(grpcProbe(Names.GRPC_PORT, "liveness", 5, 120))
                .withResources(s.coordinator().resources())
                .withVolumeMounts(ModelVolume.mount(s)).withSecurityContext(Security.container()).build();
        PodSpec pod = new PodSpecBuilder().withServiceAccountName(n.serviceAccount()).withAutomountServiceAccountToken(false)
                .withInitContainers(ModelVolume.init(s).stream().toList()).withContainers(c)
                .withVolumes(ModelVolume.volume(s)).withSecurityContext(Security.pod())
                .withTerminationGracePeriodSeconds((long) s.drainTimeoutSeconds() + GRACE_MARGIN_SECONDS).build();
        return new DeploymentBuilder().withMetadata(meta(o, n.coordinator(), labels))
                .withNewSpec().withReplicas(1)
                .withNewStrategy().withType("Recreate").endStrategy()          // one coordinator at a time
                .withNewSelector().withMatchLabels(n.coordinatorSelector()).endSelector()
                .withNewTemplate().withNewMetadata().withLabels(labels)
                .addToAnnotations("prometheus.io/scrape", "true").addToAnnotations("prometheus.io/port", String.valueOf(Names.HTTP_PORT))
                .addToAnnotations("prometheus.io/path", "/metrics").endMetadata()
                .withSpec(pod).endTemplate().endSpec().build();
    }

    static Service coordinatorService(Owner o, Names n) {
        return new ServiceBuilder().withMetadata(meta(o, n.coordinator(), n.common("coordinator")))
                .withNewSpec().withSelector(n.coordinatorSelector())
                .addNewPort().withName("grpc").withPort(Names.GRPC_PORT).withTargetPort(new IntOrString("grpc")).withAppProtocol("grpc").endPort()
                .addNewPort().withName("http").withPort(Names.HTTP_PORT).withTargetPort(new IntOrString("http")).endPort()
                .addNewPort().withName("metrics").withPort(9090).withTargetPort(new IntOrString("http")).endPort()
                .endSpec().build();
    }

    // ---- the workers ----

    /** Headless: every worker pod gets a DNS name {@code <pod>.<cluster>-workers}. */
    static Service workersService(Owner o, Names n) {
        return new ServiceBuilder().withMetadata(meta(o, n.workersService(), n.common("worker")))
                .withNewSpec().withClusterIP("None").withPublishNotReadyAddresses(true).withSelector(n.workerSelector())
                .addNewPort().withName("stage").withPort(Names.STAGE_PORT).withTargetPort(new IntOrString("stage")).endPort()
                .endSpec().build();
    }

    static Pod worker(Owner o, Names n, Settings s, WorkerGroup g, int stage) {
        Map<String, String> labels = n.common("worker");
        labels.put(Names.LABEL_GROUP, String.valueOf(g.index()));
        labels.put(Names.LABEL_STAGE, String.valueOf(stage));
        labels.put(Names.LABEL_TEMPLATE, g.templateHash());
        List<EnvVar> env = new ArrayList<>(List.of(
                fieldEnv("SHARDLINE_WORKER_WORKER_ID", "metadata.name"),
                env("SHARDLINE_WORKER_COORDINATOR", n.coordinatorAddress()),
                fieldEnv("SHARDLINE_WORKER_HOST", "status.podIP"),
                env("SHARDLINE_WORKER_PORT", String.valueOf(Names.STAGE_PORT)),
                env("SHARDLINE_WORKER_MODEL", s.modelDir()),
                env("SHARDLINE_WORKER_BACKEND", s.backend()),
                env("SHARDLINE_WORKER_WEIGHTS", s.weights()),
                env("SHARDLINE_WORKER_DRAIN_TIMEOUT_MS", String.valueOf(s.drainTimeoutSeconds() * 1000L))));
        if (s.threads() > 0) env.add(env("SHARDLINE_WORKER_THREADS", String.valueOf(s.threads())));
        String budget = memoryBudget(s);
        if (budget != null) env.add(env("SHARDLINE_WORKER_MEMORY_BUDGET", budget));
        Container c = new ContainerBuilder().withName(CONTAINER).withImage(s.image()).withImagePullPolicy(s.pullPolicy())
                .withArgs("worker", "--stop-on-stdin-close=false").withEnv(env)
                .addNewPort().withName("stage").withContainerPort(Names.STAGE_PORT).endPort()
                // loading tens of GB: the startup probe allows startupSeconds before liveness counts
                .withStartupProbe(tcpProbe(10, Math.max(1, s.startupSeconds() / 10)))
                .withLivenessProbe(tcpProbe(10, 6))
                // ready from the worker's own state: its gRPC health service on the stage port answers SERVING only
                // while it holds an assignment with its weights loaded (not in the pool, loading or draining)
                .withReadinessProbe(grpcProbe(Names.STAGE_PORT, "", 5, 1))
                .withResources(s.workers().resources())
                .withVolumeMounts(ModelVolume.mount(s)).withSecurityContext(Security.container()).build();
        PodSpec spec = new PodSpecBuilder()
                .withHostname(n.worker(g.index(), stage)).withSubdomain(n.workersService())
                .withServiceAccountName(n.serviceAccount()).withAutomountServiceAccountToken(false)
                // a drained worker exits 0 and stays Succeeded (the operator removes it); a crash restarts it
                .withRestartPolicy("OnFailure")
                .withTerminationGracePeriodSeconds((long) s.drainTimeoutSeconds() + GRACE_MARGIN_SECONDS)
                .withInitContainers(ModelVolume.init(s).stream().toList()).withContainers(c)
                .withVolumes(ModelVolume.volume(s))
                .withNodeSelector(s.workers().nodeSelector()).withTolerations(s.workers().tolerations())
                .withAffinity(affinity(n, s, g)).withSecurityContext(Security.pod())
                .build();
        return new PodBuilder().withMetadata(meta(o, n.worker(g.index(), stage), labels)).withSpec(spec).build();
    }

    /** spec.workers.memoryBudget, else 85% of the container's memory limit (the JVM and the OS keep the rest), else none. */
    static String memoryBudget(Settings s) {
        if (s.memoryBudget() != null) return s.memoryBudget().replace("i", "");
        var r = s.workers().resources();
        if (r == null || r.getLimits() == null || r.getLimits().get("memory") == null) return null;
        java.math.BigDecimal bytes = io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(r.getLimits().get("memory"));
        return bytes.multiply(java.math.BigDecimal.valueOf(85)).divide(java.math.BigDecimal.valueOf(100), 0,
                java.math.RoundingMode.DOWN).toPlainString();
    }

    /**
     * The user's affinity, plus: a pipeline's pods prefer one topology domain (spec.workers.topologyKey, e.g. a zone
     * or rack label), and pipelines prefer different nodes.
     */
    static Affinity affinity(Names n, Settings s, WorkerGroup g) {
        Affinity user = s.workers().affinity();
        AffinityBuilder b = user != null ? new AffinityBuilder(user) : new AffinityBuilder();
        Map<String, String> sameGroup = new LinkedHashMap<>(n.workerSelector());
        sameGroup.put(Names.LABEL_GROUP, String.valueOf(g.index()));
        if (s.workers().topologyKey() != null) {
            PodAffinityTerm together = new PodAffinityTermBuilder().withNewLabelSelector().withMatchLabels(sameGroup)
                    .endLabelSelector().withTopologyKey(s.workers().topologyKey()).build();
            b.editOrNewPodAffinity().addToPreferredDuringSchedulingIgnoredDuringExecution(
                    new WeightedPodAffinityTermBuilder().withWeight(100).withPodAffinityTerm(together).build()).endPodAffinity();
        }
        PodAffinityTerm apart = new PodAffinityTermBuilder().withNewLabelSelector().withMatchLabels(n.workerSelector())
                .addNewMatchExpression().withKey(Names.LABEL_GROUP).withOperator("NotIn").withValues(String.valueOf(g.index()))
                .endMatchExpression().endLabelSelector().withTopologyKey("kubernetes.io/hostname").build();
        b.editOrNewPodAntiAffinity().addToPreferredDuringSchedulingIgnoredDuringExecution(
                new WeightedPodAffinityTermBuilder().withWeight(50).withPodAffinityTerm(apart).build()).endPodAntiAffinity();
        return b.build();
    }

    /**
     * Evictions take one worker at a time (each one's pipeline drains first: SIGTERM drains). A worker that is not
     * ready (in the pool, loading, draining: readiness is its own state) may always be evicted, so it never blocks a
     * node drain (Kubernetes 1.27+; older servers ignore the field).
     */
    static PodDisruptionBudget disruptionBudget(Owner o, Names n) {
        return new PodDisruptionBudgetBuilder().withMetadata(meta(o, n.pdb(), n.common("worker")))
                .withNewSpec().withMaxUnavailable(new IntOrString(1)).withUnhealthyPodEvictionPolicy("AlwaysAllow")
                .withNewSelector().withMatchLabels(n.workerSelector()).endSelector().endSpec().build();
    }

    /** Only pods of the same InferenceCluster reach a worker's stage port (stages are re-planned at run time). */
    static NetworkPolicy networkPolicy(Owner o, Names n) {
        return new NetworkPolicyBuilder().withMetadata(meta(o, n.networkPolicy(), n.common("worker")))
                .withNewSpec().withNewPodSelector().withMatchLabels(n.workerSelector()).endPodSelector()
                .withPolicyTypes("Ingress")
                .addNewIngress()
                .addNewFrom().withNewPodSelector().withMatchLabels(Map.of(Names.LABEL_CLUSTER, n.cluster())).endPodSelector().endFrom()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(Names.STAGE_PORT)).endPort()
                .endIngress().endSpec().build();
    }

    // ---- small parts ----

    static EnvVar env(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    static EnvVar fieldEnv(String name, String fieldPath) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withFieldPath(fieldPath)
                .endFieldRef().endValueFrom().build();
    }

    static EnvVar secretEnv(String name, String secret, String key) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef().withName(secret).withKey(key)
                .endSecretKeyRef().endValueFrom().build();
    }

    static Probe grpcProbe(int port, String service, int period, int failures) {
        return new ProbeBuilder().withNewGrpc().withPort(port).withService(service).endGrpc()
                .withPeriodSeconds(period).withFailureThreshold(failures).build();
    }

    static Probe tcpProbe(int period, int failures) {
        return new ProbeBuilder().withNewTcpSocket().withNewPort("stage").endTcpSocket()
                .withPeriodSeconds(period).withFailureThreshold(failures).build();
    }

    private Desired() {
    }
}
