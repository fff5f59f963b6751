package dev.shardline.coordinator.batch;

import dev.shardline.coordinator.config.BatchConfig;
import dev.shardline.model.json.Json;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** The batch topics themselves: creating the missing ones, and reading one batch's result lines back. */
final class BatchTopics {
    private BatchTopics() {
    }

    /**
     * Creates the batch topics that are missing: the requests, results and dead-letter topics with the broker's
     * default partition count, the batches and files topics compacted with one partition.
     */
    static void ensure(BatchConfig config, Consumer<String> log) {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(KafkaProps.admin(config))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<org.apache.kafka.clients.admin.NewTopic> missing = new ArrayList<>();
            for (String t : List.of(config.requestsTopic(), config.resultsTopic(), config.deadLetterTopic())) {
                if (!existing.contains(t)) {
                    missing.add(new org.apache.kafka.clients.admin.NewTopic(t, java.util.Optional.empty(), java.util.Optional.empty()));
                }
            }
            for (String t : List.of(config.batchesTopic(), config.filesTopic())) {
                if (!existing.contains(t)) {
                    missing.add(new org.apache.kafka.clients.admin.NewTopic(t, java.util.Optional.of(1), java.util.Optional.empty())
                            .configs(Map.of("cleanup.policy", "compact")));
                }
            }
            if (missing.isEmpty()) return;
            try {
                admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) throw e;
            }
            log.accept("batch API: created topic(s) " + missing.stream().map(org.apache.kafka.clients.admin.NewTopic::name).toList());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating the batch topics", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot create the batch topics on " + config.bootstrap() + ": " + e.getMessage(), e);
        }
    }

    /** A batch's output (200 answers) or error lines, read from the results topic as a read_committed consumer. */
    static String results(BatchConfig config, String batchId, boolean succeeded) {
        Properties p = KafkaProps.consumer(config);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        StringBuilder sb = new StringBuilder();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            c.partitionsFor(config.resultsTopic()).forEach(i -> parts.add(new TopicPartition(config.resultsTopic(), i.partition())));
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("cannot read " + config.resultsTopic());
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    Header h = r.headers().lastHeader(BatchRunner.BATCH_HEADER);
                    if (h == null || !batchId.equals(new String(h.value(), StandardCharsets.UTF_8))) continue;
                    String line = new String(r.value(), StandardCharsets.UTF_8);
                    if (ResultLine.succeeded(Json.parseObject(line)) == succeeded) sb.append(line).append('\n');
                }
            }
        }
        return sb.toString();
    }
}
