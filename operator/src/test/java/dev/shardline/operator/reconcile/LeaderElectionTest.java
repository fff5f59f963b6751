package dev.shardline.operator.reconcile;

import dev.shardline.operator.Samples;
import dev.shardline.operator.coordinator.GrpcCoordinatorClient;
import dev.shardline.operator.main.OperatorConfig;
import dev.shardline.operator.main.OperatorMain;
import dev.shardline.operator.resource.InferenceCluster;
import dev.shardline.operator.resource.InferenceClusterSpec;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Two operator replicas with leader election (JOSDK over a Lease, short lease times) against the CRUD mock API
 * server: only the Lease holder reconciles; when it stops, the other takes the Lease and reconciles the next change.
 */
@EnableKubernetesMockClient(crud = true)
class LeaderElectionTest {
    static KubernetesMockServer server;
    static KubernetesClient client;
    static final String NS = "ml";

    @Test
    void onlyTheLeaseHolderReconcilesAndTheOtherTakesOverWhenItStops() throws Exception {
        client.resource(io.fabric8.kubernetes.client.utils.Serialization.unmarshal(
                Files.readString(Path.of("../k8s/base/crd.yaml")), CustomResourceDefinition.class)).create();
        // JOSDK checks its Lease permissions with a SelfSubjectRulesReview, which the CRUD mock cannot answer
        server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews").andReturn(201,
                new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder()
                        .withNewMetadata().endMetadata()
                        .withNewStatus().withIncomplete(false).addNewResourceRule().withApiGroups("coordination.k8s.io")
                        .withResources("leases").withVerbs("*").endResourceRule().endStatus().build()).always();
        SimulatedCoordinator coordinator = new SimulatedCoordinator(client, NS, "solo", 2);
        Map<String, AtomicInteger> reconciles = new LinkedHashMap<>();
        Map<String, Operator> operators = new LinkedHashMap<>();
        Map<String, InferenceClusterReconciler> reconcilers = new LinkedHashMap<>();
        try {
            for (String id : new String[]{"replica-a", "replica-b"}) {
                AtomicInteger n = new AtomicInteger();
                reconciles.put(id, n);
                InferenceClusterReconciler r = new InferenceClusterReconciler(client, new InferenceClusterReconciler.Options(
                        false, Duration.ofMillis(300), (names, ns) -> {
                            n.incrementAndGet();                        // called by every reconcile of this replica
                            return coordinator.address();
                        }, GrpcCoordinatorClient::new, System::currentTimeMillis, line -> System.err.println(id + ": " + line)));
                reconcilers.put(id, r);
                operators.put(id, OperatorMain.start(client, r, new OperatorConfig("", true, NS, Duration.ofMillis(300)), false,
                        new LeaderElectionConfiguration(OperatorMain.LEASE, NS, Duration.ofSeconds(3), Duration.ofSeconds(2),
                                Duration.ofMillis(250), id, null, false)));
            }
            await(() -> holder() != null, "a replica holds the Lease");
            String leader = holder();
            String follower = leader.equals("replica-a") ? "replica-b" : "replica-a";

            client.resource(Samples.cluster("solo", Samples.tinySpec(2, 1))).create();
            await(() -> generationSeen() == 1, "the cluster reconciled");
            Thread.sleep(2000);                     // several 300 ms periods: every replica that may reconcile does
            assertEquals(0, reconciles.get(follower).get(), "the replica without the Lease reconciled nothing");

            operators.get(leader).stop();
            int before = reconciles.get(follower).get();
            for (int attempt = 1; ; attempt++) {                   // the stopping leader may still patch the status
                try {
                    client.resources(InferenceCluster.class).inNamespace(NS).withName("solo").edit(c -> {
                        InferenceClusterSpec s = c.getSpec();
                        c.setSpec(new InferenceClusterSpec(s.image(), s.imagePullPolicy(), s.model(), s.workers(),
                                s.stages(), 2, s.minPipelines(), s.maxPipelines(), s.autoscaling(), s.coordinator(),
                                s.kafka(), s.apiKeySecret(), s.drainTimeoutSeconds()));
                        return c;
                    });
                    break;
                } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                    if (e.getCode() != 409 || attempt == 20) throw e;
                    Thread.sleep(100);
                }
            }
            await(() -> follower.equals(holder()), "the other replica takes the Lease");
            await(() -> generationSeen() == 2, "the change reconciled by the new leader");
            assertNotEquals(before, reconciles.get(follower).get(), "the new leader reconciled");
        } finally {
            operators.values().forEach(o -> {
                try {
                    o.stop();
                } catch (RuntimeException ignored) {
                    // already stopped
                }
            });
            reconcilers.values().forEach(InferenceClusterReconciler::close);
            coordinator.close();
        }
    }

    private static String holder() {
        Lease l = client.leases().inNamespace(NS).withName(OperatorMain.LEASE).get();
        return l == null || l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
    }

    private static long generationSeen() {
        InferenceCluster c = client.resources(InferenceCluster.class).inNamespace(NS).withName("solo").get();
        return c == null || c.getStatus() == null || c.getStatus().observedGeneration() == null ? 0
                : c.getStatus().observedGeneration();
    }

    private static void await(BooleanSupplier ok, String what) throws InterruptedException {
        long end = System.nanoTime() + 40_000_000_000L;
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting: " + what + " (holder " + holder() + ")");
            Thread.sleep(100);
        }
    }
}
