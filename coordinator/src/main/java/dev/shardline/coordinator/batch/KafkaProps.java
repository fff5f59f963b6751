package dev.shardline.coordinator.batch;

import dev.shardline.coordinator.config.BatchConfig;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

import java.util.Properties;
import java.util.Set;

/**
 * Client properties for the batch topics: the configured client settings ({@code kafka.*} keys) and the bootstrap
 * servers, kept to the keys each client kind knows (a consumer key given to a producer would only be warned about).
 */
final class KafkaProps {
    private KafkaProps() {
    }

    /** Every configured setting and the bootstrap servers (for code that picks its own subset). */
    static Properties all(BatchConfig c) {
        Properties p = new Properties();
        p.putAll(c.client());
        p.put("bootstrap.servers", c.bootstrap());
        return p;
    }

    static Properties producer(BatchConfig c) {
        return only(c, ProducerConfig.configNames());
    }

    static Properties consumer(BatchConfig c) {
        return only(c, ConsumerConfig.configNames());
    }

    static Properties admin(BatchConfig c) {
        return only(c, AdminClientConfig.configNames());
    }

    private static Properties only(BatchConfig c, Set<String> names) {
        Properties p = all(c);
        p.keySet().retainAll(names);
        return p;
    }
}
