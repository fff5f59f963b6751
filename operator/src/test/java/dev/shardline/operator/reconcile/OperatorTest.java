package dev.shardline.operator.reconcile;

import dev.shardline.operator.Samples;
import dev.shardline.operator.coordinator.GrpcCoordinatorClient;
import dev.shardline.operator.desired.Names;
import dev.shardline.operator.main.OperatorConfig;
import dev.shardline.operator.main.OperatorMain;
import dev.shardline.operator.resource.InferenceCluster;
import dev.shardline.operator.resource.InferenceClusterSpec;
import dev.shardline.operator.resource.InferenceClusterStatus;
import dev.shardline.operator.resource.WorkerTemplate;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.javaoperatorsdk.operator.Operator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real operator (JOSDK running, leader election off, server-side apply off) against Fabric8's mock API server in
 * CRUD mode, with a simulated coordinator speaking the real gRPC contracts. The mock runs no controllers and no
 * garbage collector: owner references are asserted, not collection.
 */
@EnableKubernetesMockClient(crud = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorTest {
    static KubernetesMockServer server;
    static KubernetesClient client;
    static Operator operator;
    static InferenceClusterReconciler reconciler;
    static final Map<String, SimulatedCoordinator> coordinators = new ConcurrentHashMap<>();
    static final List<String> deletedPods = new CopyOnWriteArrayList<>();
    static Watch podWatch;
    static final String NS = "ml";

    static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    @BeforeAll
    static void start() throws IOException {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
        client.resource(io.fabric8.kubernetes.client.utils.Serialization.unmarshal(
                Files.readString(Path.of("../k8s/base/crd.yaml")), CustomResourceDefinition.class)).create();
        for (String name : List.of("alpha", "beta", "broken")) {
            coordinators.put(name, new SimulatedCoordinator(client, NS, name, 2));
        }
        coordinators.put("gamma", new SimulatedCoordinator(client, NS, "gamma", 3));   // 5 GiB model, 2 GiB workers
        reconciler = new InferenceClusterReconciler(client, new InferenceClusterReconciler.Options(false, Duration.ofMillis(300),
                (n, ns) -> coordinators.get(n.cluster()).address(), GrpcCoordinatorClient::new, System::currentTimeMillis,
                line -> System.err.println("operator: " + line)));
        operator = OperatorMain.start(client, reconciler, new OperatorConfig("", false, "", Duration.ofMillis(300)), false);
        podWatch = client.pods().inNamespace(NS).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Pod pod) {
                if (action == Action.DELETED) {
                    deletedPods.add(pod.getMetadata().getName() + ":" + (pod.getStatus() == null ? "none" : pod.getStatus().getPhase()));
                }
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
    }

    @AfterAll
    static void stop() {
        podWatch.close();
        operator.stop();
        reconciler.close();
        coordinators.values().forEach(SimulatedCoordinator::close);
    }

    static InferenceCluster get(String name) {
        return client.resources(InferenceCluster.class).inNamespace(NS).withName(name).get();
    }

    static List<Pod> pods(String cluster) {
        return client.pods().inNamespace(NS).withLabels(new Names(cluster).workerSelector()).list().getItems();
    }

    static Condition condition(String cluster, String type) {
        InferenceCluster c = get(cluster);
        if (c == null || c.getStatus() == null || c.getStatus().conditions() == null) return null;
        return c.getStatus().conditions().stream().filter(x -> x.getType().equals(type)).findFirst().orElse(null);
    }

    static boolean is(String cluster, String type, String status, String reason) {
        Condition c = condition(cluster, type);
        return c != null && c.getStatus().equals(status) && (reason == null || reason.equals(c.getReason()));
    }

    static void await(BooleanSupplier ok, String what, Supplier<String> state) {
        long end = System.nanoTime() + 30_000_000_000L;
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting for " + what + ": " + state.get());
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    static Supplier<String> statusOf(String cluster) {
        return () -> {
            InferenceCluster c = get(cluster);
            return (c == null ? "no resource" : String.valueOf(c.getStatus())) + " pods="
                    + pods(cluster).stream().map(p -> p.getMetadata().getName()).toList();
        };
    }

    static void edit(String name, java.util.function.UnaryOperator<InferenceClusterSpec> change) {
        client.resources(InferenceCluster.class).inNamespace(NS).withName(name).edit(c -> {
            c.setSpec(change.apply(c.getSpec()));
            return c;
        });
    }

    static InferenceClusterSpec withPipelines(InferenceClusterSpec s, int p) {
        return new InferenceClusterSpec(s.image(), s.imagePullPolicy(), s.model(), s.workers(), s.stages(), p, s.minPipelines(),
                s.maxPipelines(), s.autoscaling(), s.coordinator(), s.kafka(), s.apiKeySecret(), s.drainTimeoutSeconds());
    }

    @Test
    @Order(1)
    void creatingAClusterMakesEveryObjectOwnedByItAndTheStatusTellsThePlan() {
        client.resource(Samples.cluster("alpha", Samples.tinySpec(2, 2))).create();
        await(() -> is("alpha", "Ready", "True", "PipelinesServing"), "alpha ready", statusOf("alpha"));
        InferenceCluster cr = get("alpha");
        String uid = cr.getMetadata().getUid();
        List<HasMetadata> owned = new java.util.ArrayList<>(List.of(
                client.apps().deployments().inNamespace(NS).withName("alpha-coordinator").get(),
                client.services().inNamespace(NS).withName("alpha-coordinator").get(),
                client.services().inNamespace(NS).withName("alpha-workers").get(),
                client.configMaps().inNamespace(NS).withName("alpha-config").get(),
                client.serviceAccounts().inNamespace(NS).withName("alpha-shardline").get(),
                client.rbac().roles().inNamespace(NS).withName("alpha-shardline").get(),
                client.rbac().roleBindings().inNamespace(NS).withName("alpha-shardline").get(),
                client.policy().v1().podDisruptionBudget().inNamespace(NS).withName("alpha-workers").get(),
                client.network().v1().networkPolicies().inNamespace(NS).withName("alpha-stages").get(),
                client.secrets().inNamespace(NS).withName("alpha-admin").get()));
        owned.addAll(pods("alpha"));
        assertEquals(10 + 4, owned.size());
        for (HasMetadata o : owned) {
            assertNotNull(o, "every object exists");
            assertEquals(uid, o.getMetadata().getOwnerReferences().getFirst().getUid(), o.getMetadata().getName());
        }
        assertEquals(List.of("alpha-g0-s0", "alpha-g0-s1", "alpha-g1-s0", "alpha-g1-s1"),
                pods("alpha").stream().map(p -> p.getMetadata().getName()).sorted().toList());
        var s = cr.getStatus();
        assertEquals(1L, s.observedGeneration());
        assertEquals(2, s.readyPipelines());
        assertEquals(2, s.desiredPipelines());
        assertEquals(2, s.plan().size());
        assertEquals("alpha-g0-s1", s.plan().getFirst().stages().get(1).pod());
        assertEquals("shardline.dev/cluster=alpha,app.kubernetes.io/component=worker", s.selector());
        assertTrue(is("alpha", "Degraded", "False", null));
        assertTrue(is("alpha", "ScalingLimited", "False", null));
        assertEquals(2, coordinators.get("alpha").target, "the coordinator was told the target");
        assertEquals(0.1, s.kvUsage(), 1e-12, "a coordinator without kv_usage: computed from its pipelines' blocks");
    }

    @Test
    @Order(2)
    void scalingDownDrainsOneGroupByNameAndRemovesItsPodsOnlyOnceTheyExited() {
        edit("alpha", s -> withPipelines(s, 1));
        await(() -> pods("alpha").size() == 2 && is("alpha", "Ready", "True", null) && get("alpha").getStatus().observedGeneration() == 2,
                "alpha at one pipeline", statusOf("alpha"));
        SimulatedCoordinator sim = coordinators.get("alpha");
        List<String> gone = List.of("alpha-g1-s0", "alpha-g1-s1");      // equal load: the newest group goes
        assertTrue(sim.drained.containsAll(gone), "drained by name: " + sim.drained);
        await(() -> deletedPods.containsAll(List.of("alpha-g1-s0:Succeeded", "alpha-g1-s1:Succeeded")), "deletions seen", deletedPods::toString);
        assertTrue(deletedPods.stream().filter(d -> d.startsWith("alpha-")).allMatch(d -> d.endsWith(":Succeeded")),
                "no pod was deleted before its worker exited: " + deletedPods);
        assertEquals(1, sim.target);
        var last = get("alpha").getStatus().lastScaling();
        assertEquals(2, last.from());
        assertEquals(1, last.to());
    }

    @Test
    @Order(3)
    void changingTheWorkerTemplateRollsAGroupWithoutGoingBelowTheServingPipelines() {
        edit("alpha", s -> new InferenceClusterSpec("shardline:test-2", s.imagePullPolicy(), s.model(), s.workers(), s.stages(),
                s.pipelines(), s.minPipelines(), s.maxPipelines(), s.autoscaling(), s.coordinator(), s.kafka(), s.apiKeySecret(),
                s.drainTimeoutSeconds()));
        long end = System.nanoTime() + 30_000_000_000L;
        int minServing = Integer.MAX_VALUE;
        while (System.nanoTime() < end) {
            List<Pod> pods = pods("alpha");
            int serving = coordinators.get("alpha").status().getPipelinesList().stream()
                    .filter(p -> p.getState() == dev.shardline.proto.v1.PipelineState.PIPELINE_STATE_SERVING).toList().size();
            minServing = Math.min(minServing, serving);
            if (pods.size() == 2 && pods.stream().allMatch(p -> p.getSpec().getContainers().getFirst().getImage().equals("shardline:test-2"))
                    && is("alpha", "Progressing", "False", null)) break;
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        List<Pod> pods = pods("alpha");
        assertEquals(List.of("alpha-g1-s0", "alpha-g1-s1"), pods.stream().map(p -> p.getMetadata().getName()).sorted().toList(),
                "a new group replaced the old: " + statusOf("alpha").get());
        assertTrue(pods.stream().allMatch(p -> p.getSpec().getContainers().getFirst().getImage().equals("shardline:test-2")));
        assertEquals(1, minServing, "a pipeline served throughout the roll");
        assertTrue(coordinators.get("alpha").drained.containsAll(List.of("alpha-g0-s0", "alpha-g0-s1")));
    }

    @Test
    @Order(4)
    void anInvalidResourceIsReportedInStatusAndTheOperatorKeepsWorking() {
        InferenceClusterSpec bad = Samples.tinySpec(2, 1);
        bad = new InferenceClusterSpec(bad.image(), null, bad.model(), bad.workers(), 2, 1, 3, 1, null, null, null, null, 20);
        client.resource(Samples.cluster("broken", bad)).create();
        await(() -> is("broken", "Degraded", "True", "InvalidSpec"), "broken reported", statusOf("broken"));
        assertTrue(condition("broken", "Degraded").getMessage().contains("minPipelines"), condition("broken", "Degraded").getMessage());
        assertTrue(pods("broken").isEmpty(), "nothing was created for it");
        edit("alpha", s -> withPipelines(s, 2));
        await(() -> pods("alpha").size() == 4 && is("alpha", "Ready", "True", null) && get("alpha").getStatus().readyPipelines() == 2,
                "alpha still reconciled", statusOf("alpha"));
        edit("broken", s -> new InferenceClusterSpec(s.image(), null, s.model(), s.workers(), 2, 1, 0, 1, null, null, null, null, 20));
        await(() -> is("broken", "Ready", "True", null), "broken fixed", statusOf("broken"));
    }

    @Test
    @Order(5)
    void theAutoscalerAddsPipelinesForWaitingWorkReportsItsLimitAndScalesBackDown() {
        SimulatedCoordinator sim = coordinators.get("beta");
        sim.tokensPerSecondPerPipeline = 250.0;           // the coordinator's own figures are the ones used
        sim.kvUsage = 0.42;
        client.resource(Samples.cluster("beta", Samples.autoscaled(2))).create();
        await(() -> is("beta", "Ready", "True", null) && get("beta").getStatus().readyPipelines() == 1, "beta at one", statusOf("beta"));
        sim.waitingRequests = 5;                         // 2 per pipeline -> 3
        await(() -> pods("beta").size() == 6 && get("beta").getStatus().readyPipelines() == 3, "beta at three", statusOf("beta"));
        var last = get("beta").getStatus().lastScaling();
        assertEquals(3, last.to());
        assertEquals(5, last.waitingRequests());
        assertTrue(last.reason().contains("5 requests waiting"), last.reason());
        assertEquals(250.0, last.tokensPerSecondPerPipeline(), "the coordinator's tokens/s per pipeline");
        assertEquals(0.42, last.kvUsage(), "the coordinator's KV usage, not one computed from its pipelines (0.1)");
        sim.waitingRequests = 20;
        await(() -> is("beta", "ScalingLimited", "True", "MaxPipelines"), "limited", statusOf("beta"));
        assertEquals(6, pods("beta").size());
        sim.waitingRequests = 0;
        await(() -> pods("beta").size() == 2 && get("beta").getStatus().readyPipelines() == 1 && is("beta", "ScalingLimited", "False", null),
                "beta back at one", statusOf("beta"));
        assertEquals(4, sim.drained.size(), "two groups drained by name: " + sim.drained);
    }

    @Test
    @Order(6)
    void aGroupThatCannotBeScheduledIsReportedAsScalingLimited() {
        Pod p = pods("beta").getFirst();
        client.pods().inNamespace(NS).resource(p).editStatus(x -> {
            x.setStatus(new PodStatusBuilder().withPhase("Pending").withConditions(new PodConditionBuilder().withType("PodScheduled")
                    .withStatus("False").withReason("Unschedulable").withMessage("0/3 nodes: Insufficient nvidia.com/gpu").build()).build());
            return x;
        });
        await(() -> is("beta", "ScalingLimited", "True", "Unschedulable"), "unschedulable reported", statusOf("beta"));
        await(() -> get("beta").getStatus().readyPipelines() == 0 && is("beta", "Ready", "False", "PipelinesNotServing"),
                "the pending group counted as not there", statusOf("beta"));
    }

    @Test
    @Order(7)
    void deletingAClusterLeavesTheOperatorRunning() {
        client.resources(InferenceCluster.class).inNamespace(NS).withName("broken").delete();
        await(() -> get("broken") == null, "broken deleted", () -> "");
        edit("alpha", s -> withPipelines(s, 1));
        await(() -> pods("alpha").size() == 2, "alpha still reconciled after a deletion", statusOf("alpha"));
    }

    @Test
    @Order(8)
    void omittedStagesComeFromTheCoordinatorsPlannerOnceItAnswers() {
        SimulatedCoordinator sim = coordinators.get("gamma");
        client.resource(Samples.cluster("gamma", Samples.tinySpec(null, 1))).create();
        await(() -> is("gamma", "Progressing", "True", "PlanningStages") && !sim.planBudgets.isEmpty(),
                "planning reported while the coordinator cannot answer yet", statusOf("gamma"));
        assertEquals(2L << 30, sim.planBudgets.getFirst(), "the workers' memory budget in bytes");
        assertTrue(pods("gamma").isEmpty(), "no worker group before the stage count is known");
        assertTrue(is("gamma", "Degraded", "False", null), statusOf("gamma").get());
        var deployment = client.apps().deployments().inNamespace(NS).withName(new Names("gamma").coordinator()).get();
        assertNotNull(deployment, "the coordinator comes up first: it is the one that plans");
        assertTrue(deployment.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv().stream()
                .noneMatch(e -> e.getName().equals("SHARDLINE_COORDINATOR_WORKERS")), "the coordinator does not depend on the answer");

        sim.plans = true;
        await(() -> pods("gamma").size() == 3 && is("gamma", "Ready", "True", "PipelinesServing"),
                "one group of the three planned stages serving", statusOf("gamma"));
        InferenceClusterStatus s = get("gamma").getStatus();
        assertEquals(3, s.stages());
        assertEquals("auto: 3 stages of 2.0 GiB for model tiny-sim (5.0 GiB on one worker)", s.stagesReason());
        assertEquals(List.of("gamma-g0-s0", "gamma-g0-s1", "gamma-g0-s2"),
                pods("gamma").stream().map(p -> p.getMetadata().getName()).sorted().toList());
        int asked = sim.planBudgets.size();

        // a budget no number of workers can use: Degraded with the planner's words; the serving group stays
        edit("gamma", x -> new InferenceClusterSpec(x.image(), x.imagePullPolicy(), x.model(),
                new WorkerTemplate(WorkerTemplate.Backend.cpu, "1Mi", 1, null, null, null, null, null, null, null), null,
                x.pipelines(), x.minPipelines(), x.maxPipelines(), x.autoscaling(), x.coordinator(), x.kafka(),
                x.apiKeySecret(), x.drainTimeoutSeconds()));
        await(() -> is("gamma", "Degraded", "True", "StagesUnplannable"), "the refusal reported", statusOf("gamma"));
        Condition degraded = condition("gamma", "Degraded");
        assertTrue(degraded.getMessage().contains("1Mi") && degraded.getMessage().contains("1048576 bytes"), degraded.getMessage());
        assertTrue(sim.planBudgets.size() > asked, "a new budget asks the planner again");
        assertEquals(3, pods("gamma").size(), "nothing is removed while the stages are unknown");
    }
}
