package dev.shardline.coordinator.config;

import dev.shardline.model.config.ConfigKeyException;
import dev.shardline.model.config.ConfigKeys;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The coordinator's batch settings (ADR 0011): where batch work comes from (Kafka) and how much of it to hold.
 * Batch jobs are off while {@code bootstrap} is blank.
 *
 * @param bootstrap      Kafka bootstrap servers, host:port[,host:port...] ("" = no batch jobs)
 * @param requestsTopic  OpenAI Batch input lines
 * @param resultsTopic   OpenAI Batch output lines (and error lines)
 * @param deadLetterTopic lines that cannot be answered (not JSON, no custom_id)
 * @param batchesTopic   compacted: batch objects by id
 * @param filesTopic     compacted: uploaded input files, in chunks
 * @param group          the consumer group all coordinators that share the work join
 * @param instanceId     this coordinator's stable identity: its transactional.id is derived from it, so a restarted
 *                       instance fences its predecessor ("" = derived from host and gRPC port)
 * @param queueTokens    submitted, unfinished batch work (prompt + max tokens) above which the consumer pauses
 * @param heldBytes      results held for an open prefix above which the consumer pauses
 * @param commitIntervalMs how often at most a transaction commits the closed prefixes
 * @param maxRequests    batch requests this coordinator runs at once at most (0 = only the token bound limits)
 * @param testCrash      tests only (needs test-hooks): {@code before-commit:N} / {@code after-commit:N} makes the
 *                       process SIGKILL itself at that point of its N-th transaction ("" = never); with
 *                       {@code ,offsets-first} it also commits offsets outside the transaction, before the results
 *                       (broken on purpose: the check that exactly-once tests make must then fail)
 * @param client         Kafka client settings passed through ({@code kafka.sasl.mechanism=...} as
 *                       {@code sasl.mechanism}); checked against the client's own names
 */
public record BatchConfig(String bootstrap, String requestsTopic, String resultsTopic, String deadLetterTopic,
                          String batchesTopic, String filesTopic, String group, String instanceId, long queueTokens,
                          long heldBytes, long commitIntervalMs, int maxRequests, String testCrash, Map<String, String> client) {

    public static final String PASSTHROUGH = "kafka.";
    public static final Set<String> KEYS = Set.of("kafka-bootstrap", "kafka-requests-topic", "kafka-results-topic",
            "kafka-dead-letter-topic", "kafka-batches-topic", "kafka-files-topic", "kafka-group", "kafka-instance-id",
            "batch-queue-tokens", "batch-held-bytes", "kafka-commit-interval-ms", "batch-test-crash", "batch-max-requests");
    /** Client settings the batch consumer sets itself: exactly-once depends on them. */
    static final Set<String> OWNED = Set.of("bootstrap.servers", "group.id", "transactional.id", "enable.idempotence",
            "enable.auto.commit", "isolation.level", "key.serializer", "value.serializer", "key.deserializer",
            "value.deserializer", "auto.offset.reset", "group.instance.id");

    public BatchConfig {
        client = Map.copyOf(client);
        if (!testCrash.isEmpty() && !testCrash.matches("(before|after)-commit:[1-9][0-9]*(,offsets-first)?")) {
            throw new ConfigKeyException("batch-test-crash", "must be before-commit:N or after-commit:N (optionally "
                    + "followed by ,offsets-first), got " + testCrash);
        }
        if (maxRequests < 0) throw new ConfigKeyException("batch-max-requests", "must be >= 0, got " + maxRequests);
        if (queueTokens < 1) throw new ConfigKeyException("batch-queue-tokens", "must be >= 1, got " + queueTokens);
        if (heldBytes < 1) throw new ConfigKeyException("batch-held-bytes", "must be >= 1, got " + heldBytes);
        if (commitIntervalMs < 1 || commitIntervalMs > 60_000) {
            throw new ConfigKeyException("kafka-commit-interval-ms", "must be in [1, 60000], got " + commitIntervalMs);
        }
        for (String t : new String[]{requestsTopic, resultsTopic, deadLetterTopic, batchesTopic, filesTopic, group}) {
            if (t.isBlank()) throw new ConfigKeyException("kafka-*-topic/kafka-group", "must not be blank");
        }
        for (String k : client.keySet()) {
            if (OWNED.contains(k)) {
                throw new ConfigKeyException(PASSTHROUGH + k, "is set by the batch consumer itself (exactly-once depends on it)");
            }
            if (!KafkaClientNames.ALL.contains(k)) {
                throw new ConfigKeyException(PASSTHROUGH + k, "is not a Kafka producer, consumer or admin setting");
            }
        }
    }

    public boolean enabled() {
        return !bootstrap.isBlank();
    }

    /** {@code v}: the config keys; {@code passthrough}: the {@code kafka.*} flags, prefix removed. */
    static BatchConfig parse(Map<String, String> v, Map<String, String> passthrough, String defaultInstance) {
        return new BatchConfig(
                v.getOrDefault("kafka-bootstrap", ""),
                v.getOrDefault("kafka-requests-topic", "shardline-batch-requests"),
                v.getOrDefault("kafka-results-topic", "shardline-batch-results"),
                v.getOrDefault("kafka-dead-letter-topic", "shardline-batch-dead-letters"),
                v.getOrDefault("kafka-batches-topic", "shardline-batches"),
                v.getOrDefault("kafka-files-topic", "shardline-batch-files"),
                v.getOrDefault("kafka-group", "shardline-batch"),
                v.getOrDefault("kafka-instance-id", defaultInstance),
                ConfigKeys.intValue(v, "batch-queue-tokens", 65_536),
                ConfigKeys.bytesValue(v, "batch-held-bytes", 64L << 20),
                ConfigKeys.intValue(v, "kafka-commit-interval-ms", 100),
                ConfigKeys.intValue(v, "batch-max-requests", 0),
                v.getOrDefault("batch-test-crash", ""),
                passthrough);
    }

    /** Splits {@code kafka.x.y=v} flags off {@code flags} (into the result, prefix removed). */
    static Map<String, String> takePassthrough(Map<String, String> flags) {
        Map<String, String> out = new TreeMap<>();
        for (var it = flags.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().startsWith(PASSTHROUGH)) {
                out.put(e.getKey().substring(PASSTHROUGH.length()), e.getValue());
                it.remove();
            }
        }
        return out;
    }

    /** The names kafka-clients knows, for failing fast on a misspelt pass-through key. */
    static final class KafkaClientNames {
        static final Set<String> ALL;

        static {
            Set<String> s = new TreeSet<>(org.apache.kafka.clients.producer.ProducerConfig.configNames());
            s.addAll(org.apache.kafka.clients.consumer.ConsumerConfig.configNames());
            s.addAll(org.apache.kafka.clients.admin.AdminClientConfig.configNames());
            ALL = Set.copyOf(s);
        }

        private KafkaClientNames() {
        }
    }
}
