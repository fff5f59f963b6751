package dev.shardline.cli.operator;

import dev.shardline.coordinator.config.CoordinatorConfig;
import dev.shardline.operator.desired.CoordinatorKeys;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The coordinator keys the operator writes into its ConfigMap are keys the coordinator accepts. */
class OperatorKeysTest {
    @Test
    void everyKeyTheOperatorWritesIsACoordinatorKey() {
        for (String key : CoordinatorKeys.all()) {
            assertTrue(CoordinatorConfig.KEYS.contains(key), key + " is not a coordinator key: " + CoordinatorConfig.knownKeys());
        }
    }
}
