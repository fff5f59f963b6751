package dev.shardline.operator.desired;

import dev.shardline.operator.Samples;
import dev.shardline.operator.resource.InferenceCluster;
import dev.shardline.operator.resource.InferenceClusterSpec;
import dev.shardline.operator.resource.ModelSource;
import dev.shardline.operator.resource.WorkerTemplate;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Resource -> objects, without an API server. */
class DesiredTest {
    static final Desired.Owner OWNER = new Desired.Owner("shardline.dev/v1alpha1", "InferenceCluster", "qwq", "ml", "u-1");

    static InferenceClusterSpec gpuSpec() {
        return new InferenceClusterSpec("ghcr.io/shardline/shardline:0.1.0-cuda", InferenceClusterSpec.PullPolicy.Always,
                new ModelSource("qwq-32b", "QwQ-32B", new ModelSource.PvcSource("models"), null, null),
                new WorkerTemplate(WorkerTemplate.Backend.cuda, "70Gi", 8, WorkerTemplate.Weights.mmap,
                        new ResourceRequirementsBuilder().addToLimits("nvidia.com/gpu", new Quantity("1"))
                                .addToLimits("memory", new Quantity("96Gi")).build(),
                        Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"),
                        List.of(new TolerationBuilder().withKey("nvidia.com/gpu").withOperator("Exists").withEffect("NoSchedule").build()),
                        null, "topology.kubernetes.io/zone", 3600),
                4, 1, 1, 2, null, null, null, null, 300);
    }

    static DesiredObjects of(InferenceClusterSpec spec, int groups) {
        Settings s = Settings.of(spec);
        List<WorkerGroup> g = new java.util.ArrayList<>();
        for (int i = 0; i < groups; i++) g.add(new WorkerGroup(i, s.templateHash()));
        return Desired.of(OWNER, s, g);
    }

    static Map<String, EnvVar> env(Container c) {
        return c.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
    }

    @Test
    void everyObjectIsOwnedByTheClusterAndLabelled() {
        DesiredObjects d = of(gpuSpec(), 2);
        List<HasMetadata> all = new java.util.ArrayList<>(d.shared());
        all.addAll(d.pods());
        assertEquals(9 + 8, all.size());
        for (HasMetadata o : all) {
            var ref = o.getMetadata().getOwnerReferences();
            assertEquals(1, ref.size(), o.getMetadata().getName());
            assertEquals("u-1", ref.getFirst().getUid());
            assertEquals("InferenceCluster", ref.getFirst().getKind());
            assertEquals("shardline.dev/v1alpha1", ref.getFirst().getApiVersion());
            assertTrue(ref.getFirst().getController());
            assertEquals("ml", o.getMetadata().getNamespace());
            assertEquals("qwq", o.getMetadata().getLabels().get(Names.LABEL_CLUSTER));
        }
        assertEquals(List.of("qwq-g0-s0", "qwq-g0-s1", "qwq-g0-s2", "qwq-g0-s3", "qwq-g1-s0", "qwq-g1-s1", "qwq-g1-s2", "qwq-g1-s3"),
                d.pods().stream().map(p -> p.getMetadata().getName()).toList());
    }

    @Test
    void workerPodsCarryTheirStageTheGpuTheProbesAndAGraceAboveTheDrain() {
        Pod p = of(gpuSpec(), 2).groups().get(1).get(2);
        Map<String, String> l = p.getMetadata().getLabels();
        assertEquals("1", l.get(Names.LABEL_GROUP));
        assertEquals("2", l.get(Names.LABEL_STAGE));
        assertEquals("worker", l.get(Names.LABEL_COMPONENT));
        assertEquals(Settings.of(gpuSpec()).templateHash(), l.get(Names.LABEL_TEMPLATE));
        assertEquals("qwq-workers", p.getSpec().getSubdomain());
        assertEquals("qwq-g1-s2", p.getSpec().getHostname());
        assertEquals("OnFailure", p.getSpec().getRestartPolicy(), "a drained worker exits 0 and stays down");
        assertTrue(p.getSpec().getTerminationGracePeriodSeconds() >= 300, "grace covers the drain deadline");
        Container c = p.getSpec().getContainers().getFirst();
        assertEquals("ghcr.io/shardline/shardline:0.1.0-cuda", c.getImage());
        assertEquals(List.of("worker", "--stop-on-stdin-close=false"), c.getArgs());
        assertEquals(new Quantity("1"), c.getResources().getLimits().get("nvidia.com/gpu"));
        Map<String, EnvVar> env = env(c);
        assertEquals("metadata.name", env.get("SHARDLINE_WORKER_WORKER_ID").getValueFrom().getFieldRef().getFieldPath());
        assertEquals("status.podIP", env.get("SHARDLINE_WORKER_HOST").getValueFrom().getFieldRef().getFieldPath());
        assertEquals("qwq-coordinator:7070", env.get("SHARDLINE_WORKER_COORDINATOR").getValue());
        assertEquals("/models/QwQ-32B", env.get("SHARDLINE_WORKER_MODEL").getValue());
        assertEquals("cuda", env.get("SHARDLINE_WORKER_BACKEND").getValue());
        assertEquals("70G", env.get("SHARDLINE_WORKER_MEMORY_BUDGET").getValue());
        assertEquals("8", env.get("SHARDLINE_WORKER_THREADS").getValue());
        assertEquals("mmap", env.get("SHARDLINE_WORKER_WEIGHTS").getValue());
        assertEquals("300000", env.get("SHARDLINE_WORKER_DRAIN_TIMEOUT_MS").getValue());
        assertEquals(7001, c.getPorts().getFirst().getContainerPort());
        var startup = c.getStartupProbe();
        assertTrue(startup.getPeriodSeconds() * startup.getFailureThreshold() >= 3600, "the startup probe allows the load");
        assertNull(c.getReadinessProbe().getTcpSocket(), "readiness is the worker's own state, not an open port");
        assertEquals(Names.STAGE_PORT, c.getReadinessProbe().getGrpc().getPort(), "gRPC health on the stage port");
        assertEquals("", c.getReadinessProbe().getGrpc().getService());
        assertEquals("stage", c.getLivenessProbe().getTcpSocket().getPort().getStrVal());
        assertEquals("models", p.getSpec().getVolumes().getFirst().getPersistentVolumeClaim().getClaimName());
        assertTrue(c.getVolumeMounts().getFirst().getReadOnly());
        assertTrue(p.getSpec().getInitContainers().isEmpty(), "no demo model to create");
        assertEquals("NVIDIA-H100-80GB-HBM3", p.getSpec().getNodeSelector().get("nvidia.com/gpu.product"));
        assertEquals("nvidia.com/gpu", p.getSpec().getTolerations().getFirst().getKey());
        var together = p.getSpec().getAffinity().getPodAffinity().getPreferredDuringSchedulingIgnoredDuringExecution().getFirst();
        assertEquals("topology.kubernetes.io/zone", together.getPodAffinityTerm().getTopologyKey());
        assertEquals("1", together.getPodAffinityTerm().getLabelSelector().getMatchLabels().get(Names.LABEL_GROUP));
        assertFalse(p.getSpec().getAutomountServiceAccountToken());
    }

    @Test
    void theCoordinatorServesGrpcHttpAndMetricsAndKnowsTheModelAndTheDrain() {
        DesiredObjects d = of(gpuSpec(), 1);
        var dep = d.coordinator();
        assertEquals("qwq-coordinator", dep.getMetadata().getName());
        assertEquals(1, dep.getSpec().getReplicas());
        assertEquals("Recreate", dep.getSpec().getStrategy().getType());
        Container c = dep.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertEquals(List.of("coordinator"), c.getArgs());
        Map<String, EnvVar> env = env(c);
        assertEquals("qwq-32b", env.get("SHARDLINE_COORDINATOR_MODEL_ID").getValue());
        assertEquals("/models/QwQ-32B", env.get("SHARDLINE_COORDINATOR_MODEL").getValue());
        assertEquals("4", env.get("SHARDLINE_COORDINATOR_WORKERS").getValue(), "the first plan waits for one whole group");
        assertEquals("0.0.0.0", env.get("SHARDLINE_COORDINATOR_HOST").getValue());
        assertEquals("qwq-admin", env.get("SHARDLINE_COORDINATOR_ADMIN_TOKEN").getValueFrom().getSecretKeyRef().getName());
        assertNull(env.get("SHARDLINE_COORDINATOR_PIPELINES"), "the operator sets the target at run time, never by a rollout");
        assertEquals("liveness", c.getLivenessProbe().getGrpc().getService());
        assertEquals(Map.of("grpc", 7070, "http", 8000, "metrics", 9090), d.coordinatorService().getSpec().getPorts().stream()
                .collect(Collectors.toMap(p -> p.getName(), p -> p.getPort())));
        assertEquals("None", d.workersService().getSpec().getClusterIP());
        assertTrue(dep.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() >= 300);
    }

    @Test
    void withoutABudgetAWorkerMayUse85PercentOfItsMemoryLimit() {
        InferenceClusterSpec a = gpuSpec();
        WorkerTemplate w = a.workers();
        InferenceClusterSpec noBudget = new InferenceClusterSpec(a.image(), null, a.model(), new WorkerTemplate(w.backend(), null,
                w.threads(), w.weights(), w.resources(), null, null, null, null, null), 1, 1, 0, 1, null, null, null, null, null);
        Pod p = of(noBudget, 1).pods().getFirst();
        long limit = 96L << 30;
        assertEquals(String.valueOf(limit * 85 / 100), env(p.getSpec().getContainers().getFirst()).get("SHARDLINE_WORKER_MEMORY_BUDGET").getValue());
        Pod none = of(Samples.tinySpec(1, 1), 1).pods().getFirst();
        assertEquals("2G", env(none.getSpec().getContainers().getFirst()).get("SHARDLINE_WORKER_MEMORY_BUDGET").getValue());
    }

    @Test
    void aDemoModelIsWrittenByAnInitContainerIntoAnEmptyDir() {
        Pod p = of(Samples.tinySpec(2, 1), 1).pods().getFirst();
        Container init = p.getSpec().getInitContainers().getFirst();
        assertEquals(List.of("model", "create", "--preset", "tiny", "--out", "/models/tiny"), init.getArgs());
        assertEquals("/models/tiny", env(p.getSpec().getContainers().getFirst()).get("SHARDLINE_WORKER_MODEL").getValue());
        assertTrue(p.getSpec().getVolumes().getFirst().getEmptyDir() != null);
    }

    @Test
    void accessIsLeastPrivilegeAndOnlyTheClustersPodsReachAStage() {
        DesiredObjects d = of(gpuSpec(), 1);
        assertFalse(d.serviceAccount().getAutomountServiceAccountToken());
        var rule = d.role().getRules().getFirst();
        assertEquals(1, d.role().getRules().size());
        assertEquals(List.of("get"), rule.getVerbs());
        assertEquals(List.of("qwq-config"), rule.getResourceNames());
        var np = d.networkPolicy().getSpec();
        assertEquals(Map.of(Names.LABEL_CLUSTER, "qwq", Names.LABEL_COMPONENT, "worker"), np.getPodSelector().getMatchLabels());
        assertEquals(Map.of(Names.LABEL_CLUSTER, "qwq"), np.getIngress().getFirst().getFrom().getFirst().getPodSelector().getMatchLabels());
        assertEquals(7001, np.getIngress().getFirst().getPorts().getFirst().getPort().getIntVal());
        assertEquals(1, d.disruptionBudget().getSpec().getMaxUnavailable().getIntVal());
        assertEquals("AlwaysAllow", d.disruptionBudget().getSpec().getUnhealthyPodEvictionPolicy(),
                "a worker that is not ready (pool, loading) never blocks a node drain");
    }

    @Test
    void theTemplateHashFollowsWhatAWorkerRunsNotTheScale() {
        InferenceClusterSpec a = gpuSpec();
        InferenceClusterSpec moreScale = new InferenceClusterSpec(a.image(), a.imagePullPolicy(), a.model(), a.workers(), a.stages(),
                2, 0, 8, a.autoscaling(), a.coordinator(), a.kafka(), a.apiKeySecret(), a.drainTimeoutSeconds());
        InferenceClusterSpec newImage = new InferenceClusterSpec("ghcr.io/shardline/shardline:0.2.0-cuda", a.imagePullPolicy(),
                a.model(), a.workers(), a.stages(), a.pipelines(), a.minPipelines(), a.maxPipelines(), a.autoscaling(),
                a.coordinator(), a.kafka(), a.apiKeySecret(), a.drainTimeoutSeconds());
        assertEquals(Settings.of(a).templateHash(), Settings.of(moreScale).templateHash());
        assertNotEquals(Settings.of(a).templateHash(), Settings.of(newImage).templateHash());
    }

    @Test
    void nonsenseIsRefusedNamingTheField() {
        InferenceClusterSpec a = gpuSpec();
        assertEquals("model", assertThrows(SpecException.class, () -> Settings.of(new InferenceClusterSpec(a.image(), null,
                new ModelSource("m", null, new ModelSource.PvcSource("x"), "/data", null), a.workers(), 1, 1, 0, 1,
                null, null, null, null, null))).field());
        assertEquals("minPipelines", assertThrows(SpecException.class, () -> Settings.of(new InferenceClusterSpec(a.image(), null,
                a.model(), a.workers(), 1, 1, 5, 2, null, null, null, null, null))).field());
        assertEquals("stages", assertThrows(SpecException.class, () -> Settings.of(new InferenceClusterSpec(a.image(), null,
                a.model(), a.workers(), 0, 1, 0, 2, null, null, null, null, null))).field());
        assertEquals("image", assertThrows(SpecException.class, () -> Settings.of(new InferenceClusterSpec(null, null,
                a.model(), a.workers(), 1, 1, 0, 2, null, null, null, null, null))).field());
        assertEquals("coordinator.config.admin-token", assertThrows(SpecException.class, () -> Settings.of(new InferenceClusterSpec(
                a.image(), null, a.model(), a.workers(), 1, 1, 0, 2, null,
                new dev.shardline.operator.resource.CoordinatorTemplate(null, Map.of("admin-token", "x")), null, null, null))).field());
    }

    @Test
    void omittedStagesWithABudgetAreTheCoordinatorsToPlanAndEnterTheTemplateHash() {
        InferenceClusterSpec a = dev.shardline.operator.Samples.tinySpec(null, 1);        // workers of 2Gi
        Settings auto = Settings.of(a);
        assertTrue(auto.autoStages());
        assertEquals(0, auto.stages());
        assertEquals(2L << 30, auto.memoryBudgetBytes());
        Desired.Owner owner = new Desired.Owner("shardline.dev/v1alpha1", "InferenceCluster", "c", "ml", "uid-c");
        assertThrows(IllegalStateException.class, () -> Desired.of(owner, auto, List.of(new WorkerGroup(0, auto.templateHash()))),
                "no pods before the stage count is known");

        Settings two = auto.withPlannedStages(2, "auto: 2");
        Settings three = auto.withPlannedStages(3, "auto: 3");
        assertEquals(2, Desired.of(owner, two, List.of(new WorkerGroup(0, two.templateHash()))).pods().size());
        assertNotEquals(two.templateHash(), three.templateHash(), "a new answer rolls the pipelines");
        assertEquals(Settings.of(dev.shardline.operator.Samples.tinySpec(2, 1)).templateHash(), two.templateHash(),
                "planned 2 is the same template as explicit 2");
        assertEquals(auto.stagesKey(), two.stagesKey());
        assertEquals("stages", assertThrows(SpecException.class, () -> auto.withPlannedStages(65, "x")).field());

        Settings explicit = Settings.of(dev.shardline.operator.Samples.tinySpec(2, 1));
        assertFalse(explicit.autoStages());
        assertThrows(IllegalStateException.class, () -> explicit.withPlannedStages(3, "x"));
        InferenceClusterSpec noBudget = new InferenceClusterSpec(a.image(), null, a.model(),
                new dev.shardline.operator.resource.WorkerTemplate(null, null, null, null, null, null, null, null, null, null),
                null, 1, 0, 2, null, null, null, null, null);
        assertEquals(1, Settings.of(noBudget).stages(), "without a budget there is nothing to plan for: 1 as before");
        assertFalse(Settings.of(noBudget).autoStages());
    }

    @Test
    void aResourceDeserialisesFromYaml() {
        InferenceCluster c = io.fabric8.kubernetes.client.utils.Serialization.unmarshal("""
                apiVersion: shardline.dev/v1alpha1
                kind: InferenceCluster
                metadata: {name: demo}
                spec:
                  image: shardline:0.1.0
                  model: {id: tiny, demo: {preset: tiny}}
                  workers: {backend: cpu, memoryBudget: 1Gi}
                  stages: 2
                  kafka: {bootstrapServers: "kafka:9092", requestsTopic: jobs, resultsTopic: answers}
                """, InferenceCluster.class);
        Settings s = Settings.of(c.getSpec());
        assertEquals(2, s.stages());
        assertEquals("cpu", s.backend());
        assertEquals(ModelSource.DemoModel.Preset.tiny, s.model().demo().preset());
        c.getMetadata().setNamespace("ml");
        c.getMetadata().setUid("uid-demo");
        Map<String, String> config = Desired.config(Desired.Owner.of(c), new Names("demo"), s).getData();
        assertEquals("answers", config.get("SHARDLINE_COORDINATOR_KAFKA_RESULTS_TOPIC"), "kafka.resultsTopic: " + config);
        assertEquals("jobs", config.get("SHARDLINE_COORDINATOR_KAFKA_REQUESTS_TOPIC"));
        assertEquals("demo", config.get("SHARDLINE_COORDINATOR_KAFKA_GROUP"), "the group defaults to the cluster's name");
    }
}
