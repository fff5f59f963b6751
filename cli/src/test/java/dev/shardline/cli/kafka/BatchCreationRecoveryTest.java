package dev.shardline.cli.kafka;

import dev.shardline.coordinator.batch.BatchStore;
import dev.shardline.coordinator.config.BatchConfig;
import dev.shardline.model.json.Json;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A coordinator that dies while creating a Batch API batch (after writing it as validating, in the middle of
 * queueing its lines) leaves it validating with part of its lines in an open transaction. Another coordinator's
 * batch store takes it over: the dead creator's transaction is aborted by fencing, the batch is validated again
 * from its input file and its lines queued exactly once, in_progress with the right count. Real in-JVM broker.
 */
class BatchCreationRecoveryTest {
    static EmbeddedKafka kafka;
    static Path dir;

    @BeforeAll
    static void broker() throws Exception {
        dir = Files.createTempDirectory("shardline-recovery-kafka");
        kafka = EmbeddedKafka.start(dir, 0);
    }

    @AfterAll
    static void stop() {
        if (kafka != null) kafka.close();
    }

    @Test
    void aBatchLeftValidatingByADeadCoordinatorIsQueuedOnceByAnother() throws Exception {
        KafkaLines.Topics t = KafkaLines.Topics.named("stuck");
        t.create(kafka, 2);
        BatchConfig cfg = new BatchConfig(kafka.bootstrap(), t.requests(), t.results(), t.deadLetters(), t.batches(),
                t.files(), t.group(), "recovery-1", 1 << 20, 64L << 20, 200, 0, "", Map.of());
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        StringBuilder jsonl = new StringBuilder();
        List<String> customIds = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            customIds.add("r-" + i);
            jsonl.append(Json.write(Map.of("custom_id", "r-" + i, "method", "POST", "url", "/v1/completions",
                    "body", Map.of("prompt", "hello " + i, "max_tokens", 2)))).append('\n');
        }
        long now = System.currentTimeMillis() / 1000;
        String batchId = "batch_deadcreator01";
        KafkaProducer<String, String> deadCreator = null;
        try (BatchStore first = new BatchStore(cfg, () -> now, log::add)) {
            first.start();
            String fileId = (String) first.uploadFile("in.jsonl", "batch", jsonl.toString().getBytes(StandardCharsets.UTF_8)).get("id");
            // what a creator that died mid-way leaves: the batch written as validating an hour ago ...
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("id", batchId);
            b.put("object", "batch");
            b.put("endpoint", "/v1/completions");
            b.put("errors", null);
            b.put("input_file_id", fileId);
            b.put("completion_window", "24h");
            b.put("status", "validating");
            b.put("created_at", now - 3600);
            b.put("expires_at", now - 3600 + 86400);
            b.put("request_counts", Map.of("total", 0, "completed", 0, "failed", 0));
            try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrap()),
                    new StringSerializer(), new StringSerializer())) {
                p.send(new ProducerRecord<>(t.batches(), batchId, Json.write(b))).get();
            }
            // ... and two of its five lines in a transaction that never commits (the process is gone)
            deadCreator = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrap(), "transactional.id",
                    BatchStore.creationTransactionalId(cfg, batchId)), new StringSerializer(), new StringSerializer());
            deadCreator.initTransactions();
            deadCreator.beginTransaction();
            for (int i = 0; i < 2; i++) {
                ProducerRecord<String, String> r = new ProducerRecord<>(t.requests(), "r-" + i, "half-queued " + i);
                r.headers().add("shardline.batch", batchId.getBytes(StandardCharsets.UTF_8));
                deadCreator.send(r);
            }
            deadCreator.flush();

            KafkaLines.await(() -> "in_progress".equals(first.batch(batchId).get("status")), 60_000,
                    "the stuck batch taken over: " + log);
            assertEquals(5L, ((Number) ((Map<?, ?>) first.batch(batchId).get("request_counts")).get("total")).longValue());
        } finally {
            if (deadCreator != null) deadCreator.close(java.time.Duration.ZERO);
        }
        List<KafkaLines.Seen> queued = KafkaLines.readAllCommitted(kafka.bootstrap(), t.requests()).stream()
                .filter(s -> batchId.equals(s.headers().get("shardline.batch"))).toList();
        assertEquals(5, queued.size(), "each line once, none of the dead creator's: " + queued);
        assertEquals(new TreeSet<>(customIds), new TreeSet<>(queued.stream().map(KafkaLines.Seen::key).toList()));
        assertEquals(0, queued.stream().filter(s -> s.value().startsWith("half-queued")).count());

        // a restarted store reads the same state and does not queue it again
        try (BatchStore again = new BatchStore(cfg, () -> now + 10, log::add)) {
            again.start();
            assertEquals("in_progress", again.batch(batchId).get("status"));
            Thread.sleep(1500);                                       // a few rounds of its timer
        }
        assertEquals(5, KafkaLines.readAllCommitted(kafka.bootstrap(), t.requests()).stream()
                .filter(s -> batchId.equals(s.headers().get("shardline.batch"))).count());
    }
}
