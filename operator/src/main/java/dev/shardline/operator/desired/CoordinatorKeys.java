package dev.shardline.operator.desired;

/**
 * The coordinator's Kafka configuration keys the operator writes (SHARDLINE_COORDINATOR_*). They must match the
 * coordinator's config record: the coordinator refuses unknown keys at start.
 */
final class CoordinatorKeys {
    static final String KAFKA_BOOTSTRAP = "kafka-bootstrap-servers";
    static final String KAFKA_REQUESTS = "kafka-requests-topic";
    static final String KAFKA_RESPONSES = "kafka-responses-topic";
    static final String KAFKA_GROUP = "kafka-group";

    private CoordinatorKeys() {
    }
}
