package dev.shardline.operator.desired;

import java.util.List;

/**
 * The coordinator's Kafka configuration keys the operator writes (SHARDLINE_COORDINATOR_*). They must match the
 * coordinator's config record: the coordinator refuses unknown keys at start (the cli's OperatorKeysTest checks
 * them against it, since the operator may not depend on the coordinator).
 */
public final class CoordinatorKeys {
    static final String KAFKA_BOOTSTRAP = "kafka-bootstrap";
    static final String KAFKA_REQUESTS = "kafka-requests-topic";
    static final String KAFKA_RESULTS = "kafka-results-topic";
    static final String KAFKA_GROUP = "kafka-group";

    private CoordinatorKeys() {
    }

    /** Every key the operator may write. */
    public static List<String> all() {
        return List.of(KAFKA_BOOTSTRAP, KAFKA_REQUESTS, KAFKA_RESULTS, KAFKA_GROUP);
    }
}
