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
import dev.shardline.operator.resource.KafkaSource;
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
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
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
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end without a real Kubernetes: the operator reconciles against Fabric8's mock API server, and a harness
 * ({@link Kubelet}) plays the workload controllers, kube-proxy and the kubelet, running every pod's container as a
 * real {@code shardline} process. One InferenceCluster for the tiny model, with its batch front end on a real
 * in-JVM Kafka broker ({@link KafkaBroker}), serves both scenarios in turn: it answers a Generate call; work waiting
 * for admission makes the operator add a pipeline that then serves, and once the work is gone it scales back down by
 * draining, with no request lost; then a backlog of batch records on the Kafka requests topic makes it add a pipeline
 * that serves batch work, and when the backlog drains it scales back down, every batch request with exactly one
 * result on the results topic.
 */
@EnableKubernetesMockClient(crud = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorEndToEndTest {
    static final String REQUESTS = "e2e-batch-requests";
    static final String RESULTS = "e2e-batch-results";
    static KafkaBroker kafka;
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
        kafka = KafkaBroker.start(work.resolve("kafka"));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(REQUESTS, 2, (short) 1), new NewTopic(RESULTS, 2, (short) 1)))
                    .all().get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | InterruptedException e) {
            throw new IllegalStateException("cannot create the batch topics", e);
        }
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
        if (kafka != null) kafka.close();
        if (work != null) {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                System.err.println("could not delete " + work + ": " + e);
            }
        }
    }

    static final long BACKLOG_TOKENS_PER_PIPELINE = 1000;

    static InferenceClusterSpec spec() {
        return new InferenceClusterSpec(IMAGE, InferenceClusterSpec.PullPolicy.Never,
                new ModelSource("tiny", null, null, null, new ModelSource.DemoModel(ModelSource.DemoModel.Preset.tiny, null)),
                new WorkerTemplate(WorkerTemplate.Backend.cpu, null, 1, null, null, null, null, null, null, null),
                1, 1, 1, 2,
                // 1000 backlog tokens per pipeline: the waiting requests of the first scenario (a few hundred tokens)
                // stay under it, the batch backlog of the second (tens of records of ~70 tokens) goes over it; down
                // after 4 s of lower recommendations, so that a backlog figure that dips once does not flap
                new Autoscaling(true, BACKLOG_TOKENS_PER_PIPELINE, 2, 1.0, 3600, 0, 4, 0, 0),
                // batch-max-requests 4: the batch consumer runs at most 4 at once (2 per pipeline), so the batch
                // work waits in Kafka, not in the coordinator's queue, and it is the backlog that scales
                new CoordinatorTemplate(null, Map.of("max-running", "2", "heartbeat-ms", "200", "worker-timeout-ms", "5000",
                        "kv-reserve-tokens", "64", "max-kv-blocks", "400", "batch-max-requests", "4")),
                new KafkaSource(kafka.bootstrap(), REQUESTS, RESULTS, null), null, 30);
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

    /** The shared cluster: created by the first test that needs it; both start from one pipeline serving. */
    static void clusterAtOnePipeline() {
        if (cr() == null) {
            InferenceCluster c = new InferenceCluster();
            c.setMetadata(new ObjectMetaBuilder().withName("tiny").withNamespace(NS).build());
            c.setSpec(spec());
            client.resource(c).create();
        }
        await(() -> kubelet.clusterIp("tiny-coordinator") != null, 60, "the coordinator Service");
        if (channel == null) {
            channel = NettyChannelBuilder.forTarget(kubelet.clusterIp("tiny-coordinator") + ":" + Names.GRPC_PORT).usePlaintext().build();
        }
        await(() -> ready() && serving() == 1 && workers().size() == 1 && cr().getStatus().desiredPipelines() == 1, 180,
                "one pipeline serving");
        // the worker pod's readiness is its own state (gRPC health on the stage port, probed as the kubelet does)
        await(() -> workers().stream().allMatch(OperatorEndToEndTest::podReady), 10, "the serving worker's pod Ready");
    }

    static boolean podReady(Pod p) {
        return p.getStatus() != null && p.getStatus().getConditions() != null && p.getStatus().getConditions().stream()
                .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
    }

    @Test
    @Order(1)
    void anInferenceClusterServesScalesUpOnWaitingWorkAndBackDownWithoutLosingARequest() throws Exception {
        // 1. it comes up and answers
        clusterAtOnePipeline();
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

    // ---- the Kafka backlog ----

    static final int BATCH_MAX_TOKENS = 32;

    /**
     * An OpenAI batch input line: a greedy completion of 4 prompt tokens, EOS ignored. The coordinator estimates a
     * record without a producer's count at its body's length / 4 + max_tokens: about 70 tokens.
     */
    static String batchLine(String id, int i) {
        return "{\"custom_id\":\"" + id + "\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":["
                + (10 + i % 50) + "," + (20 + i % 7) + "," + (30 + i % 11) + "," + (40 + i % 13) + "],\"max_tokens\":"
                + BATCH_MAX_TOKENS + ",\"temperature\":0,\"ignore_eos\":true}}";
    }

    static void produce(KafkaProducer<String, String> p, List<String> ids, int n) {
        for (int k = 0; k < n; k++) {
            String id = "b-" + ids.size();
            p.send(new ProducerRecord<>(REQUESTS, id, batchLine(id, ids.size())));
            ids.add(id);
        }
        p.flush();
    }

    /** Every committed record of the results topic now (read_committed, up to each partition's end): key -> values. */
    static Map<String, List<String>> results() {
        Map<String, List<String>> out = new TreeMap<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of("bootstrap.servers", kafka.bootstrap(),
                "isolation.level", "read_committed", "enable.auto.commit", "false"), new StringDeserializer(),
                new StringDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(RESULTS).stream().map(x -> new TopicPartition(RESULTS, x.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) throw new AssertionError("cannot read " + RESULTS + " to its end");
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                    out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                }
            }
        }
        return out;
    }

    static void log(long t0, String what) {
        System.err.printf("e2e: %5.1f s %s%n", (System.nanoTime() - t0) / 1e9, what);
    }

    @Test
    @Order(2)
    void aKafkaBacklogAddsAPipelineThatServesAndItsDrainScalesBackDownWithEveryResultOnce() throws Exception {
        clusterAtOnePipeline();
        long t0 = System.nanoTime();
        Set<Integer> before = new java.util.HashSet<>();
        status().getPipelinesList().forEach(p -> before.add(p.getPipelineId()));
        List<String> ids = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrap(),
                "linger.ms", 5), new StringSerializer(), new StringSerializer())) {
            // keep about 60 records (about 4000 tokens, well over two pipelines' worth, so that the figure, refreshed
            // every 2 s, never dips under one pipeline's worth while it is topped up) waiting until a second pipeline
            // has served batch work; top it up at most every 2.5 s
            long end = System.nanoTime() + 150_000_000_000L;
            long toppedUp = 0;
            while (true) {
                long asked = System.nanoTime();
                GetClusterStatusResponse s = status();
                long answered = System.nanoTime();
                PipelineStatus added = s.getPipelinesList().stream().filter(p -> !before.contains(p.getPipelineId())
                        && p.getState() == PipelineState.PIPELINE_STATE_SERVING).findFirst().orElse(null);
                if (added != null && added.getTokensGenerated() > 0) {
                    log(t0, "pipeline " + added.getPipelineId() + " serves batch work: " + added.getTokensGenerated() + " tokens");
                    break;
                }
                if (System.nanoTime() > end) throw new AssertionError("no second pipeline served the backlog\n" + diagnosis());
                if (answered - toppedUp > 2_500_000_000L && s.getBatchBacklog().getRecords() < 60) {
                    produce(producer, ids, (int) (ids.isEmpty() ? 60 : 60 - s.getBatchBacklog().getRecords()));
                    toppedUp = System.nanoTime();
                    log(t0, ids.size() + " batch records produced; backlog " + s.getBatchBacklog().getRecords() + " records, "
                            + s.getBatchBacklog().getTokens() + " tokens; " + Math.round(s.getTokensPerSecond())
                            + " tokens/s; status in " + (answered - asked) / 1_000_000 + " ms, produced in "
                            + (toppedUp - answered) / 1_000_000 + " ms");
                }
                assertTrue(kubelet.failures.isEmpty(), "harness: " + kubelet.failures);
                Thread.sleep(300);
            }
        }
        assertEquals(2, workers().size());
        var up = cr().getStatus().lastScaling();
        assertEquals(1, up.from(), String.valueOf(up));
        assertEquals(2, up.to(), String.valueOf(up));
        assertTrue(up.reason().startsWith("backlog "), "the Kafka backlog scaled it, not waiting requests: " + up.reason());
        log(t0, "scaled up: " + up);
        assertTrue(up.backlogTokens() > BACKLOG_TOKENS_PER_PIPELINE, "over one pipeline's worth: " + up);
        assertTrue(status().getTokensPerSecondPerPipeline() > 0, "the coordinator measures the throughput it reports");

        // the backlog drains: back to one pipeline by a drain, and every batch request has exactly one result
        await(() -> workers().size() == 1 && serving() == 1 && cr().getStatus().desiredPipelines() == 1, 150,
                "back to one pipeline once the backlog drains");
        var down = cr().getStatus().lastScaling();
        log(t0, "back to one pipeline: " + down);
        assertEquals(2, down.from(), String.valueOf(down));
        assertEquals(1, down.to(), String.valueOf(down));
        await(() -> status().getBatchBacklog().getRecords() == 0, 150, "the backlog drained");
        Map<String, List<String>> results = results();
        log(t0, results.size() + " results for " + ids.size() + " requests");
        assertEquals(new java.util.TreeSet<>(ids), results.keySet(), "a result for every batch request");
        for (Map.Entry<String, List<String>> r : results.entrySet()) {
            assertEquals(1, r.getValue().size(), "exactly one result for " + r.getKey() + ": " + r.getValue());
            String line = r.getValue().getFirst();
            assertTrue(line.contains("\"status_code\":200") && line.contains("\"completion_tokens\":" + BATCH_MAX_TOKENS),
                    "a whole answer: " + line);
        }
        GetClusterStatusResponse after = status();
        assertEquals(0, after.getCounters().getMigrationsAfterFailure(), "a scale-down never fails a pipeline");
        assertTrue(kubelet.failures.isEmpty(), "harness: " + kubelet.failures);
    }
}
