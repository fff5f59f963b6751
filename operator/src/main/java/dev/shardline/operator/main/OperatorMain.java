package dev.shardline.operator.main;

import dev.shardline.operator.reconcile.InferenceClusterReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * {@code shardline operator}: runs the InferenceCluster controller against the API server of its service account
 * (or the kube config), with leader election so that two replicas are safe.
 */
public final class OperatorMain {

    /** The process entry point: blocks until SIGTERM. */
    public static int run(Map<String, String> env, String... args) throws InterruptedException {
        OperatorConfig config = OperatorConfig.parse(env, args);
        KubernetesClient client = new KubernetesClientBuilder().build();
        Consumer<String> log = line -> System.err.println("operator: " + line);
        InferenceClusterReconciler reconciler = new InferenceClusterReconciler(client,
                withPeriod(InferenceClusterReconciler.Options.production(log), config.period()));
        Operator operator = start(client, reconciler, config, true);
        log.accept("watching InferenceClusters in " + (config.namespace().isEmpty() ? "all namespaces" : config.namespace())
                + (config.leaderElection() ? " (leader election on)" : ""));
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            operator.stop();
            reconciler.close();
            stop.countDown();
        }));
        stop.await();
        return 0;
    }

    /** Starts an operator on a client (tests pass the mock server's client and turn server-side apply off). */
    public static Operator start(KubernetesClient client, InferenceClusterReconciler reconciler, OperatorConfig config,
                                 boolean serverSideApply) {
        return start(client, reconciler, config, serverSideApply, !config.leaderElection() ? null
                : config.leaseNamespace().isEmpty() ? new LeaderElectionConfiguration(LEASE)
                : new LeaderElectionConfiguration(LEASE, config.leaseNamespace()));
    }

    /** The Lease that operator replicas compete for. */
    public static final String LEASE = "shardline-operator";

    /** As above with the leader election spelled out (null: none); tests use short lease times. */
    public static Operator start(KubernetesClient client, InferenceClusterReconciler reconciler, OperatorConfig config,
                                 boolean serverSideApply, LeaderElectionConfiguration election) {
        Operator operator = new Operator(o -> {
            o.withKubernetesClient(client).withCloseClientOnStop(false)
                    .withUseSSAToPatchPrimaryResource(serverSideApply)
                    .withSSABasedCreateUpdateMatchForDependentResources(serverSideApply);
            if (election != null) {
                o.withLeaderElectionConfiguration(election);
            }
        });
        operator.register(reconciler, c -> {
            if (!config.namespace().isEmpty()) c.settingNamespace(config.namespace());
        });
        operator.start();
        return operator;
    }

    static InferenceClusterReconciler.Options withPeriod(InferenceClusterReconciler.Options o, Duration period) {
        return new InferenceClusterReconciler.Options(o.serverSideApply(), period, o.address(), o.connect(), o.clock(), o.log());
    }

    private OperatorMain() {
    }
}
