package dev.shardline.coordinator.batch;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;

/**
 * The custom_ids that earlier owners of a requests partition took, per batch, read from the partition itself: from
 * its first offset up to where the new owner starts (the group's committed offset). With them a duplicate custom_id
 * is refused even when its first use was answered and committed by another coordinator, or by this one before a
 * restart (ADR 0011). Lines the batch loop does not register are left out: unreadable ones, ones with a problem,
 * and records without a batch id.
 */
final class PartitionHistory {
    /** One partition's history: batch id -> custom_id -> its record's key; {@code error} when it could not be read. */
    record Seen(int partition, int epoch, Map<String, Map<String, Long>> idsPerBatch, String error) {
    }

    private PartitionHistory() {
    }

    /** Reads [{@code from}, {@code until}) of one partition with a consumer of its own (no group); stops when asked. */
    static Seen read(Properties common, String topic, int partition, int epoch, long from, long until,
                     BooleanSupplier go) {
        Properties p = new Properties();
        p.putAll(common);
        p.keySet().retainAll(ConsumerConfig.configNames());
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "shardline-batch-history-" + partition);
        Map<String, Map<String, Long>> ids = new HashMap<>();
        TopicPartition tp = new TopicPartition(topic, partition);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.assign(List.of(tp));
            c.seek(tp, from);
            while (go.getAsBoolean() && c.position(tp) < until) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.offset() >= until) break;
                    Header h = r.headers().lastHeader(BatchRunner.BATCH_HEADER);
                    if (h == null || h.value() == null || h.value().length == 0) continue;
                    if (BatchLine.read(r.value()) instanceof BatchLine.Readable l && l.problem() == null) {
                        ids.computeIfAbsent(new String(h.value(), StandardCharsets.UTF_8), b -> new HashMap<>())
                                .putIfAbsent(l.customId(), BatchRunner.key(partition, r.offset()));
                    }
                }
            }
            return new Seen(partition, epoch, ids, null);
        } catch (RuntimeException e) {
            return new Seen(partition, epoch, Map.of(), e.toString());
        }
    }
}
