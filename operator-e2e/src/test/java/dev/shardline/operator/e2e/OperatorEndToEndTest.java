package dev.shardline.operator.e2e;

import dev.shardline.operator.coordinator.GrpcCoordinatorClient;
import dev.shardline.operator.desired.Names;
import dev.shardline.operator.main.OperatorConfig;
import dev.shardline.operator.main.OperatorMain;
import dev.shardline.operator.reconcile.InferenceClusterReconciler;
import dev.shardline.operator.resource.Autoscaling;
import dev.shardline.operator.resource.CoordinatorTemplate;
import dev.shardline.operator.resource.InferenceCluster;
import dev.shardline.operator.resource.InferenceClusterSpec;
import dev.shardline.operator.resource.ModelSource;
import dev.shardline.operator.resource.WorkerTemplate;
import dev.shardline.proto.v1.FinishReason;
import dev.shardline.proto.v1.GenerateRequest;
import dev.shardline.proto.v1.GenerateResponse;
import dev.shardline.proto.v1.GetClusterStatusRequest;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.InferenceGrpc;
import dev.shardline.proto.v1.PipelineState;
import dev.shardline.proto.v1.PipelineStatus;
import dev.shardline.proto.v1.SamplingParams;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.javaoperatorsdk.operator.Operator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end without a real Kubernetes: the operator reconciles against Fabric8's mock API server, and a harness
 * ({@link Kubelet}) plays the workload controllers, kube-proxy and the kubelet, running every pod's container as a
 * real {@code shardline} process. Creating an InferenceCluster for the tiny model gives a cluster that answers a
 * Generate call; work waiting for admission makes the operator add a pipeline that then serves; once the work is
 * gone it scales back down by draining, and no request is lost. (The Kafka backlog is not part of this test: the
 * waiting requests drive the autoscaler here.)
 */
@EnableKubernetesMockClient(crud = true)
class OperatorEndToEndTest {
    static final String NS = "e2e";
    static final String IMAGE = "shardline:e2e";
    static KubernetesMockServer server;
    static KubernetesClient client;
    static Kubelet kubelet;
    static Operator operator;
    static InferenceClusterReconciler reconciler;
    static Path work;
    static ManagedChannel channel;

    /** The mock server logs every request at INFO; kept here so the setting is not garbage-collected. */
    static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    @BeforeAll
    static void start() throws IOException {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
        Path cli = Path.of("../cli/target").toAbsolutePath().normalize();
        assertTrue(Files.exists(cli.resolve("shardline-cli.jar")), "the cli is packaged before this module: " + cli);
        work = Files.createTempDirectory("shardline-k8s-e2e");
        client.resource(Serialization.unmarshal(Files.readString(Path.of("../k8s/base/crd.yaml")), CustomResourceDefinition.class)).create();
        String cache = System.getenv().getOrDefault("SHARDLINE_CACHE", Path.of(System.getProperty("user.home"), ".cache", "shardline").toString());
        // the image's environment (Dockerfile ENV); everything else comes from the pod spec
        Map<String, String> imageEnv = Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "HOME", work.toString(),
                "SHARDLINE_CACHE", cache, "DJL_CACHE_DIR", work.resolve("djl").toString());
        kubelet = new Kubelet(client, NS, IMAGE, cli, work, imageEnv, line -> System.err.println("harness: " + line));
        reconciler = new InferenceClusterReconciler(client, new InferenceClusterReconciler.Options(false, Duration.ofMillis(500),
                (n, ns) -> kubelet.clusterIp(n.coordinator()) == null ? "127.0.0.1:9"        // no Service yet: refused
                        : kubelet.clusterIp(n.coordinator()) + ":" + Names.GRPC_PORT, GrpcCoordinatorClient::new,
                System::currentTimeMillis, line -> System.err.println("operator: " + line)));
        operator = OperatorMain.start(client, reconciler, new OperatorConfig(NS, false, "", Duration.ofMillis(500)), false);
    }

    @AfterAll
    static void stop() {
        if (channel != null) channel.shutdownNow();
        if (operator != null) operator.stop();
        if (reconciler != null) reconciler.close();
        if (kubelet != null) kubelet.close();
        if (work != null) {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                System.err.println("could not delete " + work + ": " + e);
            }
        }
    }

    static InferenceClusterSpec spec() {
        return new InferenceClusterSpec(IMAGE, InferenceClusterSpec.PullPolicy.Never,
                new ModelSource("tiny", null, null, null, new ModelSource.DemoModel(ModelSource.DemoModel.Preset.tiny, null)),
                new WorkerTemplate(WorkerTemplate.Backend.cpu, null, 1, null, null, null, null, null, null, null),
                1, 1, 1, 2,
                new Autoscaling(true, 10_000_000L, 2, 1.0, 3600, 0, 2, 0, 0),
                new CoordinatorTemplate(null, Map.of("max-running", "2", "heartbeat-ms", "200", "worker-timeout-ms", "5000",
                        "kv-reserve-tokens", "64", "max-kv-blocks", "400")),
                null, null, 30);
    }

    static InferenceCluster cr() {
        return client.resources(InferenceCluster.class).inNamespace(NS).withName("tiny").get();
    }

    static List<Pod> workers() {
        return client.pods().inNamespace(NS).withLabels(new Names("tiny").workerSelector()).list().getItems().stream()
                .filter(p -> p.getStatus() == null || !"Succeeded".equals(p.getStatus().getPhase())).toList();
    }

    static GetClusterStatusResponse status() {
        return InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .getClusterStatus(GetClusterStatusRequest.getDefaultInstance());
    }

    static long serving() {
        return status().getPipelinesList().stream().filter(p -> p.getState() == PipelineState.PIPELINE_STATE_SERVING).count();
    }

    static boolean ready() {
        InferenceCluster c = cr();
        if (c == null || c.getStatus() == null || c.getStatus().conditions() == null) return false;
        return c.getStatus().conditions().stream().anyMatch(x -> x.getType().equals("Ready") && x.getStatus().equals("True"));
    }

    /** One request: the number of tokens it got and how it finished. */
    record Result(int tokens, FinishReason finish, String error) {
    }

    static Result generate(int seed, int tokens) {
        Iterator<GenerateResponse> it = InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(180, TimeUnit.SECONDS)
                .generate(GenerateRequest.newBuilder().setModel("tiny").setPromptText("Request " + seed + ": tell me a story")
                        .setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(tokens).setIgnoreEos(true)).build());
        int n = 0;
        while (it.hasNext()) {
            GenerateResponse r = it.next();
            if (r.hasDelta()) n += r.getDelta().getTokenIdsCount();
            if (r.hasFinished()) return new Result(n, r.getFinished().getFinishReason(), r.getFinished().getError());
        }
        return new Result(n, FinishReason.FINISH_REASON_UNSPECIFIED, "stream ended without Finished");
    }

    static void await(BooleanSupplier ok, long seconds, String what) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            assertTrue(kubelet.failures.isEmpty(), "harness: " + kubelet.failures);
            try {
                if (ok.getAsBoolean()) return;
            } catch (RuntimeException e) {
                // not up yet
            }
            if (System.nanoTime() > end) throw new AssertionError("timed out (" + seconds + " s) waiting for " + what + "\n" + diagnosis());
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    static String diagnosis() {
        StringBuilder b = new StringBuilder("status: " + (cr() == null ? null : cr().getStatus()) + "\n");
        try (var logs = Files.list(work.resolve("logs"))) {
            for (Path p : logs.toList()) {
                List<String> lines = Files.readAllLines(p);
                b.append("--- ").append(p.getFileName()).append(" (last 15 lines)\n");
                lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(l -> b.append(l).append('\n'));
            }
        } catch (IOException e) {
            b.append("no logs: ").append(e);
        }
        return b.toString();
    }

    @Test
    void anInferenceClusterServesScalesUpOnWaitingWorkAndBackDownWithoutLosingARequest() throws Exception {
        InferenceCluster c = new InferenceCluster();
        c.setMetadata(new ObjectMetaBuilder().withName("tiny").withNamespace(NS).build());
        c.setSpec(spec());
        client.resource(c).create();

        // 1. it comes up and answers
        await(() -> kubelet.clusterIp("tiny-coordinator") != null, 60, "the coordinator Service");
        channel = NettyChannelBuilder.forTarget(kubelet.clusterIp("tiny-coordinator") + ":" + Names.GRPC_PORT).usePlaintext().build();
        await(() -> ready() && serving() == 1, 180, "one pipeline serving");
        Result first = generate(1, 8);
        assertEquals(8, first.tokens(), first.toString());
        assertEquals(FinishReason.FINISH_REASON_LENGTH, first.finish());
        assertEquals(1, workers().size());

        // 2. work waiting for admission (2 run at a time per pipeline) makes the operator add a pipeline that serves
        List<CompletableFuture<Result>> requests = new ArrayList<>();
        int seed = 100;
        long end = System.nanoTime() + 240_000_000_000L;
        while (serving() < 2) {
            if (System.nanoTime() > end) throw new AssertionError("no second pipeline\n" + diagnosis());
            long outstanding = requests.stream().filter(f -> !f.isDone()).count();
            for (long i = outstanding; i < 8; i++) {
                int s = seed++;
                requests.add(CompletableFuture.supplyAsync(() -> generate(s, 40)));
            }
            assertTrue(kubelet.failures.isEmpty(), "harness: " + kubelet.failures);
            Thread.sleep(300);
        }
        assertEquals(2, workers().size());
        List<CompletableFuture<Result>> second = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int s = seed++;
            second.add(CompletableFuture.supplyAsync(() -> generate(s, 40)));
        }
        requests.addAll(second);
        for (CompletableFuture<Result> f : second) f.get(180, TimeUnit.SECONDS);
        GetClusterStatusResponse both = status();
        List<PipelineStatus> serving = both.getPipelinesList().stream().filter(p -> p.getState() == PipelineState.PIPELINE_STATE_SERVING).toList();
        assertEquals(2, serving.size());
        assertTrue(serving.stream().allMatch(p -> p.getTokensGenerated() > 0), "both pipelines generated tokens: " + serving);
        var scaled = cr().getStatus().lastScaling();
        assertEquals(2, scaled.to(), String.valueOf(scaled));
        assertTrue(scaled.reason().contains("requests waiting"), scaled.reason());

        // 3. the work is done: back to one pipeline by a drain, while two long requests still run
        List<CompletableFuture<Result>> running = List.of(CompletableFuture.supplyAsync(() -> generate(7001, 200)),
                CompletableFuture.supplyAsync(() -> generate(7002, 200)));
        await(() -> workers().size() == 1 && serving() == 1 && cr().getStatus().desiredPipelines() == 1, 180, "back to one pipeline");
        for (CompletableFuture<Result> f : requests) {
            Result r = f.get(180, TimeUnit.SECONDS);
            assertEquals(40, r.tokens(), "every request whole: " + r);
            assertEquals(FinishReason.FINISH_REASON_LENGTH, r.finish(), r.toString());
        }
        for (CompletableFuture<Result> f : running) {
            Result r = f.get(180, TimeUnit.SECONDS);
            assertEquals(200, r.tokens(), "the requests running during the scale-down are whole: " + r);
        }
        GetClusterStatusResponse after = status();
        assertEquals(0, after.getCounters().getMigrationsAfterFailure(), "a scale-down never fails a pipeline");
        assertTrue(after.getCounters().getPipelinesDrained() >= 1, "the pipeline went by a drain: " + after.getCounters());
        var down = cr().getStatus().lastScaling();
        assertEquals(2, down.from(), String.valueOf(down));
        assertEquals(1, down.to(), String.valueOf(down));
        Condition ready = cr().getStatus().conditions().stream().filter(x -> x.getType().equals("Ready")).findFirst().orElseThrow();
        assertEquals("True", ready.getStatus(), ready.toString());
        assertTrue(kubelet.failures.isEmpty(), "harness: " + kubelet.failures);
    }
}
