package dev.shardline.cli.kafka;

import dev.shardline.model.json.Json;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** The tests' side of the batch topics: produce request lines, read what a read_committed consumer sees. */
final class KafkaLines {
    /** One set of topic names and a group, unique per test so tests share a broker without seeing each other. */
    record Topics(String requests, String results, String deadLetters, String batches, String files, String group) {
        static Topics named(String prefix) {
            return new Topics(prefix + "-requests", prefix + "-results", prefix + "-dead", prefix + "-batches",
                    prefix + "-files", prefix + "-group");
        }

        void create(EmbeddedKafka kafka, int partitions) {
            kafka.createBatchTopics(requests, results, deadLetters, batches, files, partitions);
        }

        /** The coordinator's config keys for these topics. */
        Map<String, String> flags(EmbeddedKafka kafka) {
            Map<String, String> m = new HashMap<>();
            m.put("kafka-bootstrap", kafka.bootstrap());
            m.put("kafka-requests-topic", requests);
            m.put("kafka-results-topic", results);
            m.put("kafka-dead-letter-topic", deadLetters);
            m.put("kafka-batches-topic", batches);
            m.put("kafka-files-topic", files);
            m.put("kafka-group", group);
            return m;
        }
    }

    /** A record as a read_committed consumer saw it. */
    record Seen(String topic, int partition, long offset, String key, String value, Map<String, String> headers) {
        Map<String, Object> json() {
            return Json.parseObject(value);
        }
    }

    static void produce(String bootstrap, String topic, String batchId, List<String[]> keyAndValue) {
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "linger.ms", 5),
                new StringSerializer(), new StringSerializer())) {
            for (String[] kv : keyAndValue) {
                ProducerRecord<String, String> r = new ProducerRecord<>(topic, kv[0], kv[1]);
                r.headers().add("shardline.batch", batchId.getBytes(StandardCharsets.UTF_8));
                p.send(r);
            }
            p.flush();
        }
    }

    /** Every committed record of {@code topic} from the beginning, read until {@code enough} holds or the time is up. */
    static List<Seen> readCommitted(String bootstrap, String topic, long waitMs, java.util.function.Predicate<List<Seen>> enough) {
        List<Seen> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap,
                "isolation.level", "read_committed", "enable.auto.commit", "false"), new StringDeserializer(),
                new StringDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            c.partitionsFor(topic).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.currentTimeMillis() + waitMs;
            while (System.currentTimeMillis() < deadline && !enough.test(out)) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    Map<String, String> h = new HashMap<>();
                    for (Header x : r.headers()) h.put(x.key(), new String(x.value(), StandardCharsets.UTF_8));
                    out.add(new Seen(r.topic(), r.partition(), r.offset(), r.key(), r.value(), h));
                }
            }
        }
        return out;
    }

    /**
     * Every committed record of {@code topic} now: read up to each partition's last stable offset (what a
     * read_committed consumer may see), so the count is exact, not a guess after a wait.
     */
    static List<Seen> readAllCommitted(String bootstrap, String topic) {
        List<Seen> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap,
                "isolation.level", "read_committed", "enable.auto.commit", "false"), new StringDeserializer(),
                new StringDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            c.partitionsFor(topic).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.currentTimeMillis() + 60_000;
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.currentTimeMillis() > deadline) throw new AssertionError("cannot read " + topic + " to its end");
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                    Map<String, String> h = new HashMap<>();
                    for (Header x : r.headers()) h.put(x.key(), new String(x.value(), StandardCharsets.UTF_8));
                    out.add(new Seen(r.topic(), r.partition(), r.offset(), r.key(), r.value(), h));
                }
            }
        }
        return out;
    }

    static void await(BooleanSupplier condition, long waitMs, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + waitMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting: " + what);
            Thread.sleep(100);
        }
    }

    private KafkaLines() {
    }
}
