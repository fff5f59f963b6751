package dev.shardline.cli.kafka;

import dev.shardline.cli.cluster.LocalCluster;
import dev.shardline.cli.cluster.TestModels;
import dev.shardline.coordinator.batch.BatchRunner;
import dev.shardline.model.demo.DemoPreset;
import dev.shardline.model.json.Json;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch lines through a real broker (in-JVM KRaft) into local tiny-model clusters: bad records (and a result over
 * the results topic's message limit) answered or dead lettered while the batch finishes, result bodies equal to the HTTP API's, and two coordinators of one group, one
 * leaving mid-batch, with every request answered exactly once as a read_committed consumer sees it.
 */
class BatchKafkaTest {
    static EmbeddedKafka kafka;
    static Path dir;
    static final ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();

    @BeforeAll
    static void broker() throws Exception {
        dir = Files.createTempDirectory("shardline-kafka-test");
        kafka = EmbeddedKafka.start(dir, 0);
    }

    @AfterAll
    static void stop() {
        if (kafka != null) kafka.close();
        TestKafka.delete(dir);
    }

    static LocalCluster cluster(KafkaLines.Topics t, String instance, Map<String, String> more) throws InterruptedException {
        Map<String, String> flags = new HashMap<>(t.flags(kafka));
        flags.put("kafka-instance-id", instance);
        flags.put("pipelines", "1");
        flags.put("max-kv-blocks", "400");
        flags.put("kv-reserve-tokens", "64");
        flags.putAll(more);
        return LocalCluster.start(TestModels.get(DemoPreset.TINY), 1, 0, 1, 4L << 30, flags, false,
                line -> log.add("[" + instance + "] " + line));
    }

    @Test
    void badRecordsGetErrorLinesOrDeadLettersAndTheBatchStillFinishes() throws Exception {
        KafkaLines.Topics t = KafkaLines.Topics.named("bad");
        // a results topic with a small message limit: one result over it gets an error line instead
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(t.results(), 2, (short) 1).configs(Map.of(
                    TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "20000")))).all().get(60, TimeUnit.SECONDS);
        }
        t.create(kafka, 2);
        try (LocalCluster c = cluster(t, "bad-1", Map.of())) {
            int[] long_ = new int[40_000];
            java.util.Arrays.fill(long_, 11);
            List<String[]> lines = new ArrayList<>(List.of(
                    new String[]{"x1", "{this is not json"},
                    new String[]{"x2", "{\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"hi\"}}"},
                    new String[]{"u", BatchRequests.line("u", "/v1/embeddings", Map.of("input", "hi"))},
                    new String[]{"v", BatchRequests.line("v", "/v1/completions", Map.of("prompt", "hi", "temperature", "hot"))},
                    new String[]{"w", BatchRequests.completion("w", long_, 4)},
                    new String[]{"s", BatchRequests.line("s", "/v1/completions", Map.of("prompt", "hi", "stream", true))},
                    new String[]{"dup", BatchRequests.completion("dup", new int[]{5, 6, 7}, 4)},
                    new String[]{"dup", BatchRequests.completion("dup", new int[]{5, 6, 8}, 4)},
                    new String[]{"big", BatchRequests.line("big", "/v1/completions", Map.of("prompt", List.of(5, 6, 9),
                            "max_tokens", 200, "temperature", 0, "ignore_eos", true, "logprobs", 5))}));
            lines.addAll(BatchRequests.many("g", 4, 6));
            KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_bad", lines);

            List<KafkaLines.Seen> results = exactly(t.results(), 11);
            List<KafkaLines.Seen> dead = exactly(t.deadLetters(), 2);
            Map<String, List<Map<String, Object>>> byId = new HashMap<>();
            for (KafkaLines.Seen r : results) {
                assertEquals("batch_bad", r.headers().get(BatchRunner.BATCH_HEADER));
                Map<String, Object> j = r.json();
                assertEquals(r.key(), j.get("custom_id"));
                byId.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(j);
            }
            assertEquals(400, status(byId.get("u").getFirst()));
            assertEquals("invalid_url", error(byId.get("u").getFirst()).get("code"));
            assertEquals(400, status(byId.get("v").getFirst()));
            assertEquals("temperature", error(byId.get("v").getFirst()).get("param"));
            assertEquals(400, status(byId.get("w").getFirst()));
            assertEquals("context_length_exceeded", error(byId.get("w").getFirst()).get("code"));
            assertEquals("stream", error(byId.get("s").getFirst()).get("param"));
            assertEquals(400, status(byId.get("big").getFirst()));
            assertEquals("result_too_large", error(byId.get("big").getFirst()).get("code"), "200 tokens with 5 logprobs "
                    + "each is over the results topic's 20000 bytes");
            List<Integer> dupStatus = byId.get("dup").stream().map(BatchKafkaTest::status).sorted().toList();
            assertEquals(List.of(200, 400), dupStatus, "the first dup runs, the second is refused");
            assertTrue(byId.get("dup").stream().anyMatch(j -> status(j) == 400
                    && "duplicate_custom_id".equals(error(j).get("code"))));
            for (int i = 0; i < 4; i++) {
                Map<String, Object> g = byId.get("g-" + i).getFirst();
                assertEquals(200, status(g), g.toString());
                assertNull(g.get("error"));
            }
            Set<String> reasons = new HashSet<>();
            for (KafkaLines.Seen d : dead) {
                assertEquals(t.requests(), d.headers().get(BatchRunner.TOPIC_HEADER));
                assertTrue(d.headers().containsKey(BatchRunner.OFFSET_HEADER) && d.headers().containsKey(BatchRunner.PARTITION_HEADER));
                assertEquals("batch_bad", d.headers().get(BatchRunner.BATCH_HEADER), "the original headers stay");
                reasons.add(d.headers().get(BatchRunner.ERROR_HEADER).split(":")[0]);
            }
            assertEquals(Set.of("not JSON", "custom_id"), reasons);

            // a batch result's body is the HTTP API's answer to the same body (ids and times aside)
            for (String id : List.of("g-0", "g-3")) {
                String line = lines.stream().filter(l -> l[0].equals(id)).findFirst().orElseThrow()[1];
                Map<String, Object> in = Json.parseObject(line);
                HttpResponse<String> http = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                                URI.create(c.httpUrl() + in.get("url"))).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(Json.write(in.get("body")))).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, http.statusCode(), http.body());
                Map<String, Object> asLine = Map.of("response", Map.of("status_code", 200, "body", Json.parseObject(http.body())));
                assertEquals(BatchRequests.essence(asLine), BatchRequests.essence(byId.get(id).getFirst()));
            }
            assertEquals(0, c.coordinator().batch().orElseThrow().stats().open(), "nothing left open");
        }
    }

    /**
     * A consumer whose batch queue is full pauses its partitions and keeps polling: with a poll interval limit far
     * below the batch's run time it is never evicted (no revocation, no loss), and it resumes as the queue drains.
     */
    @Test
    void aFullBatchQueuePausesAndResumesWithoutLeavingTheGroup() throws Exception {
        KafkaLines.Topics t = KafkaLines.Topics.named("pause");
        t.create(kafka, 2);
        try (LocalCluster c = cluster(t, "pause-1", Map.of("batch-queue-tokens", "24", "kafka.max.poll.interval.ms", "5000",
                "kafka.session.timeout.ms", "10000", "kafka.heartbeat.interval.ms", "1000"))) {
            BatchRunner runner = c.coordinator().batch().orElseThrow();
            KafkaLines.await(() -> runner.stats().partitions() == 2, 60_000, "the partitions are assigned");
            int n = 150;          // one request at a time: long enough on a fast machine to stay paused > 2 x 5 s
            long start = System.nanoTime();
            KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_pause", BatchRequests.many("z", n, 24));
            // the group's backlog, in the gRPC status and in /metrics, while the batch waits (one request at a time)
            try (dev.shardline.cli.client.ClusterClient grpc = new dev.shardline.cli.client.ClusterClient(c.address())) {
                KafkaLines.await(() -> grpc.status().getBatchBacklog().getRecords() >= 10, 60_000, "a backlog in the status");
                dev.shardline.proto.v1.BatchBacklog b = grpc.status().getBatchBacklog();
                assertTrue(b.getTokens() >= b.getRecords() * 24, "at least max_tokens per record: " + b);
                String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(c.httpUrl() + "/metrics"))
                        .build(), HttpResponse.BodyHandlers.ofString()).body();
                double gauge = metrics.lines().filter(l -> l.startsWith("shardline:batch_backlog_records "))
                        .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(-1);
                assertTrue(gauge > 0, "the /metrics gauge shows the backlog: " + gauge);
                exactly(t.results(), n);
                KafkaLines.await(() -> grpc.status().getBatchBacklog().getRecords() == 0, 30_000, "the backlog drains to 0");
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            BatchRunner.Stats s = runner.stats();
            assertTrue(s.pauses() >= 1 && !s.paused(), "the consumer paused, and resumed when the queue drained: " + s);
            assertTrue(s.pausedMillis() > 2 * 5000, "paused for longer than the poll interval limit (5 s), twice over: " + s);
            assertEquals(0, s.rebalances(), "never evicted: no partition was revoked or lost in " + seconds + " s " + s);
            assertEquals(2, s.partitions());
        }
    }

    @Test
    void twoCoordinatorsShareTheWorkAndOneLeavingMidBatchLosesAndDuplicatesNothing() throws Exception {
        KafkaLines.Topics t = KafkaLines.Topics.named("rebalance");
        t.create(kafka, 4);
        Map<String, String> fastGroup = Map.of("kafka.session.timeout.ms", "6000", "kafka.heartbeat.interval.ms", "1000");
        LocalCluster a = cluster(t, "reb-a", fastGroup);
        boolean aClosed = false;
        try (LocalCluster b = cluster(t, "reb-b", fastGroup)) {
            KafkaLines.await(() -> a.coordinator().batch().orElseThrow().stats().partitions() > 0
                    && b.coordinator().batch().orElseThrow().stats().partitions() > 0, 60_000, "both coordinators own partitions");
            int n = 200;
            KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_reb", BatchRequests.many("r", n, 12));
            KafkaLines.await(() -> a.coordinator().batch().orElseThrow().stats().results() >= 20, 120_000,
                    "the leaving coordinator committed some results");
            long submittedByA = a.coordinator().batch().orElseThrow().stats().submitted();
            a.close();                                   // leaves the group mid-batch
            aClosed = true;
            assertTrue(submittedByA < n, "a left before the batch was done");
            List<KafkaLines.Seen> results = exactly(t.results(), n);
            Map<String, Long> perId = results.stream().collect(Collectors.groupingBy(KafkaLines.Seen::key, Collectors.counting()));
            assertEquals(n, perId.size());
            for (KafkaLines.Seen r : results) assertEquals(200, status(r.json()), r.value());
            assertTrue(b.coordinator().batch().orElseThrow().stats().results() > 0);
            assertEquals(4, b.coordinator().batch().orElseThrow().stats().partitions(), "b took over every partition");
        } finally {
            if (!aClosed) a.close();
        }
    }

    /**
     * A custom_id whose first use an earlier owner of the partition answered and committed is still a duplicate: the
     * new owner reads the ids below its starting offset before it takes the partition's records.
     */
    @Test
    void aDuplicateOfAnIdAnEarlierOwnerCommittedIsRefused() throws Exception {
        KafkaLines.Topics t = KafkaLines.Topics.named("dupown");
        t.create(kafka, 1);
        Map<String, String> fastGroup = Map.of("kafka.session.timeout.ms", "6000", "kafka.heartbeat.interval.ms", "1000");
        try (LocalCluster a = cluster(t, "dup-a", fastGroup)) {
            KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_dup", List.of(
                    new String[]{"d", BatchRequests.completion("d", new int[]{5, 6, 7}, 4)},
                    new String[]{"e", BatchRequests.completion("e", new int[]{5, 6, 8}, 4)}));
            exactly(t.results(), 2);
            KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_other", List.<String[]>of(
                    new String[]{"d", BatchRequests.completion("d", new int[]{5, 6, 9}, 4)}));
            exactly(t.results(), 3);
        }
        try (LocalCluster b = cluster(t, "dup-b", fastGroup)) {
            KafkaLines.produce(kafka.bootstrap(), t.requests(), "batch_dup", List.of(
                    new String[]{"d", BatchRequests.completion("d", new int[]{9, 9, 9}, 4)},
                    new String[]{"f", BatchRequests.completion("f", new int[]{5, 6, 10}, 4)}));
            List<KafkaLines.Seen> results = exactly(t.results(), 5);
            Map<String, Integer> last = new HashMap<>();
            for (KafkaLines.Seen r : results.subList(3, 5)) last.put(r.key(), status(r.json()));
            assertEquals(Map.of("d", 400, "f", 200), last, "the new owner refuses d, taken in batch_dup by the first"
                    + logTail());
            Map<String, Object> refused = results.subList(3, 5).stream().filter(r -> r.key().equals("d")).findFirst()
                    .orElseThrow().json();
            assertEquals("duplicate_custom_id", error(refused).get("code"));
            assertEquals(List.of(200, 200, 200), results.subList(0, 3).stream().map(r -> status(r.json())).toList(),
                    "the same id in another batch is no duplicate");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theOpenAiBatchApiUploadsRunsCancelsExpiresAndSurvivesARestart() throws Exception {
        KafkaLines.Topics t = KafkaLines.Topics.named("api");
        t.create(kafka, 2);
        Map<String, Object> done;
        String output;
        String batchId;
        try (LocalCluster c = cluster(t, "api-1", Map.of())) {
            BatchApiClient api = new BatchApiClient(c.httpUrl());
            StringBuilder jsonl = new StringBuilder();
            for (String[] l : BatchRequests.many("p", 8, 6)) if (l[1].contains("/v1/completions")) jsonl.append(l[1]).append('\n');
            jsonl.append(BatchRequests.line("bad", "/v1/completions", Map.of("prompt", "hi", "temperature", "hot"))).append('\n');
            BatchApiClient.Answer up = api.upload("in.jsonl", "batch", jsonl.toString());
            assertEquals(200, up.status(), up.body());
            Map<String, Object> file = up.json();
            assertEquals("file", file.get("object"));
            assertEquals("batch", file.get("purpose"));
            assertEquals(jsonl.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length, ((Number) file.get("bytes")).intValue());
            assertEquals(jsonl.toString(), api.get("/files/" + file.get("id") + "/content").body());

            BatchApiClient.Answer created = api.post("/batches", Map.of("input_file_id", file.get("id"), "endpoint", "/v1/completions",
                    "completion_window", "24h", "metadata", Map.of("job", "nightly")));
            assertEquals(200, created.status(), created.body());
            batchId = (String) created.json().get("id");
            assertEquals("batch", created.json().get("object"));
            assertEquals(Map.of("job", "nightly"), created.json().get("metadata"));
            done = api.await(batchId, 120_000, "completed", "failed");
            assertEquals("completed", done.get("status"), done.toString());
            assertEquals(Map.of("total", 7L, "completed", 6L, "failed", 1L), longs((Map<String, Object>) done.get("request_counts")));
            for (String k : List.of("in_progress_at", "finalizing_at", "completed_at", "created_at", "expires_at")) {
                assertTrue(done.get(k) instanceof Number, k + " in " + done);
            }
            output = api.get("/files/" + done.get("output_file_id") + "/content").body();
            String errors = api.get("/files/" + done.get("error_file_id") + "/content").body();
            assertEquals(6, output.lines().count(), output);
            Set<String> ids = output.lines().map(l -> (String) Json.parseObject(l).get("custom_id")).collect(Collectors.toSet());
            assertEquals(6, ids.size());
            assertEquals(1, errors.lines().count(), errors);
            assertEquals("bad", Json.parseObject(errors.lines().findFirst().orElseThrow()).get("custom_id"));
            assertEquals(400, status(Json.parseObject(errors.lines().findFirst().orElseThrow())));

            List<Object> batchList = (List<Object>) api.get("/batches?limit=10").json().get("data");
            assertTrue(batchList.stream().anyMatch(b -> batchId.equals(((Map<String, Object>) b).get("id"))));
            List<Object> fileList = (List<Object>) api.get("/files").json().get("data");
            Set<Object> fileIds = fileList.stream().map(f -> ((Map<String, Object>) f).get("id")).collect(Collectors.toSet());
            assertTrue(fileIds.containsAll(List.of(file.get("id"), done.get("output_file_id"), done.get("error_file_id"))), fileIds.toString());

            // cancel: every request answered once, the unfinished ones with batch_cancelled
            String big = BatchRequests.many("k", 120, 48).stream().filter(l -> l[1].contains("/v1/completions"))
                    .map(l -> l[1]).collect(Collectors.joining("\n"));
            String bigFile = (String) api.upload("big.jsonl", "batch", big).json().get("id");
            String toCancel = (String) api.post("/batches", Map.of("input_file_id", bigFile, "endpoint", "/v1/completions",
                    "completion_window", "24h")).json().get("id");
            Map<String, Object> cancelling = api.post("/batches/" + toCancel + "/cancel", null).json();
            assertTrue(List.of("cancelling", "cancelled").contains(cancelling.get("status")), cancelling.toString());
            Map<String, Object> cancelled = api.await(toCancel, 120_000, "cancelled");
            assertEndedOnce(api, cancelled, big.lines().count(), "batch_cancelled");
            assertEquals(409, api.post("/batches/" + toCancel + "/cancel", null).status(), "a cancelled batch cannot be cancelled");

            // expiry: a window of one second
            String toExpire = (String) api.post("/batches", Map.of("input_file_id", bigFile, "endpoint", "/v1/completions",
                    "completion_window", "1s")).json().get("id");
            Map<String, Object> expired = api.await(toExpire, 120_000, "expired");
            assertEndedOnce(api, expired, big.lines().count(), "batch_expired");

            // a file that does not validate fails the batch, naming the line
            String mixed = (String) api.upload("mixed.jsonl", "batch", BatchRequests.chat("m1", "hi", 4) + "\n").json().get("id");
            Map<String, Object> failed = api.post("/batches", Map.of("input_file_id", mixed, "endpoint", "/v1/completions",
                    "completion_window", "24h")).json();
            assertEquals("failed", failed.get("status"));
            Map<String, Object> firstError = (Map<String, Object>) ((List<Object>) ((Map<String, Object>) failed.get("errors")).get("data")).getFirst();
            assertEquals(1L, ((Number) firstError.get("line")).longValue());
            assertEquals(404, api.get("/batches/batch_nope").status());
            assertEquals(400, api.post("/batches", Map.of("input_file_id", mixed, "endpoint", "/v1/embeddings",
                    "completion_window", "24h")).status());
            assertEquals(true, api.delete("/files/" + mixed).json().get("deleted"));
            assertEquals(404, api.get("/files/" + mixed).status());
        }
        // a new coordinator reads the same batches and files back from Kafka
        try (LocalCluster c = cluster(t, "api-2", Map.of())) {
            BatchApiClient api = new BatchApiClient(c.httpUrl());
            assertEquals(done, api.get("/batches/" + batchId).json());
            assertEquals(output, api.get("/files/" + done.get("output_file_id") + "/content").body());
        }
    }

    @SuppressWarnings("unchecked")
    private static void assertEndedOnce(BatchApiClient api, Map<String, Object> b, long total, String code) throws Exception {
        Map<String, Long> counts = longs((Map<String, Object>) b.get("request_counts"));
        assertEquals(total, counts.get("total"));
        assertEquals(total, counts.get("completed") + counts.get("failed"), b.toString());
        String out = b.get("output_file_id") == null ? "" : api.get("/files/" + b.get("output_file_id") + "/content").body();
        String err = api.get("/files/" + b.get("error_file_id") + "/content").body();
        List<String> all = new ArrayList<>(out.lines().toList());
        all.addAll(err.lines().toList());
        assertEquals(total, all.size());
        assertEquals(total, all.stream().map(l -> Json.parseObject(l).get("custom_id")).distinct().count(), "one line per request");
        assertTrue(err.lines().anyMatch(l -> l.contains("\"" + code + "\"")), "some requests end with " + code);
    }

    private static Map<String, Long> longs(Map<String, Object> m) {
        Map<String, Long> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, ((Number) v).longValue()));
        return out;
    }

    /** Reads until {@code n} committed records came, then 2 s more: exactly n, or the log in the message. */
    static List<KafkaLines.Seen> exactly(String topic, int n) {
        List<KafkaLines.Seen> got = KafkaLines.readCommitted(kafka.bootstrap(), topic, 180_000, l -> l.size() >= n);
        assertEquals(n, got.size(), topic + ": " + got.size() + " records" + logTail());
        try {
            Thread.sleep(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<KafkaLines.Seen> again = KafkaLines.readAllCommitted(kafka.bootstrap(), topic);
        assertEquals(n, again.size(), topic + ": more records came later" + logTail());
        return again;
    }

    static String logTail() {
        List<String> l = new ArrayList<>(log);
        return "\n" + String.join("\n", l.subList(Math.max(0, l.size() - 200), l.size()));
    }

    @SuppressWarnings("unchecked")
    static int status(Map<String, Object> line) {
        Map<String, Object> r = (Map<String, Object>) line.get("response");
        return r == null ? -1 : ((Number) r.get("status_code")).intValue();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> error(Map<String, Object> line) {
        Map<String, Object> r = (Map<String, Object>) line.get("response");
        return (Map<String, Object>) ((Map<String, Object>) r.get("body")).get("error");
    }
}
