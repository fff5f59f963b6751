package dev.shardline.coordinator.config;

import dev.shardline.model.config.ConfigKeyException;
import dev.shardline.model.config.ConfigKeys;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Everything the coordinator is configured with, parsed once at start from {@code SHARDLINE_COORDINATOR_*}
 * environment variables overlaid by flags of the same kebab-case names. Unknown keys fail at once.
 *
 * @param host               address to listen on
 * @param port               gRPC port for clients and workers (0 picks a free one)
 * @param model              checkpoint directory (tokenizer, config; workers map the weights)
 * @param modelId            the name clients use in requests (default: the directory name)
 * @param workers            workers to wait for before planning
 * @param blockSize          tokens per KV block
 * @param tokenBudget        rows per micro-batch (decode tokens + prefill chunk tokens)
 * @param maxRunning         sequences holding KV blocks at once, per pipeline
 * @param activationDtype    bf16 (default, half the bytes) or f32 (bit-exact with one process)
 * @param maxMessageBytes    largest gRPC message between stages; prefill activations are chunked below it
 * @param heartbeatMs        worker heartbeat interval
 * @param workerTimeoutMs    a worker silent this long is lost
 * @param kvReserveTokens    KV tokens every stage must be able to hold for a plan to be accepted
 * @param maxKvBlocks        cap on KV blocks per pipeline (0 = the default cap of 1024 blocks)
 * @param replicas           pipelines to form (0 = as many as the workers allow; 1 = every worker in one pipeline)
 */
public record CoordinatorConfig(String host, int port, Path model, String modelId, int workers, int blockSize,
                                int tokenBudget, int maxRunning, String activationDtype, int maxMessageBytes,
                                int heartbeatMs, int workerTimeoutMs, long kvReserveTokens, int maxKvBlocks,
                                int replicas) {

    public static final Set<String> KEYS = Set.of("host", "port", "model", "model-id", "workers", "block-size",
            "token-budget", "max-running", "activation-dtype", "max-message-bytes", "heartbeat-ms",
            "worker-timeout-ms", "kv-reserve-tokens", "max-kv-blocks", "replicas");

    public CoordinatorConfig {
        range("port", port, 0, 65535);
        range("workers", workers, 1, 1024);
        range("block-size", blockSize, 1, 4096);
        range("token-budget", tokenBudget, 1, 1 << 20);
        range("max-running", maxRunning, 1, 1 << 16);
        range("max-message-bytes", maxMessageBytes, 4096, 1 << 30);
        range("heartbeat-ms", heartbeatMs, 10, 600_000);
        range("worker-timeout-ms", workerTimeoutMs, heartbeatMs, 3_600_000);
        range("max-kv-blocks", maxKvBlocks, 0, Integer.MAX_VALUE);
        range("replicas", replicas, 0, 1024);
        if (!activationDtype.equals("bf16") && !activationDtype.equals("f32")) {
            throw new ConfigKeyException("activation-dtype", "must be bf16 or f32, got " + activationDtype);
        }
        if (kvReserveTokens < 1) {
            throw new ConfigKeyException("kv-reserve-tokens", "must be >= 1, got " + kvReserveTokens);
        }
    }

    public static CoordinatorConfig parse(Map<String, String> env, Map<String, String> flags) {
        Map<String, String> v = new LinkedHashMap<>();
        ConfigKeys.fromEnv(env, "SHARDLINE_COORDINATOR_", KEYS, v);
        ConfigKeys.fromFlags(flags, KEYS, v);
        Path model = Path.of(ConfigKeys.require(v, "model"));
        String id = v.getOrDefault("model-id", model.toAbsolutePath().normalize().getFileName() == null ? "model"
                : model.toAbsolutePath().normalize().getFileName().toString());
        return new CoordinatorConfig(
                v.getOrDefault("host", "127.0.0.1"),
                ConfigKeys.intValue(v, "port", 0),
                model,
                id,
                ConfigKeys.intValue(v, "workers", 1),
                ConfigKeys.intValue(v, "block-size", 16),
                ConfigKeys.intValue(v, "token-budget", 512),
                ConfigKeys.intValue(v, "max-running", 64),
                v.getOrDefault("activation-dtype", "bf16"),
                (int) ConfigKeys.bytesValue(v, "max-message-bytes", 4L << 20),
                ConfigKeys.intValue(v, "heartbeat-ms", 1000),
                ConfigKeys.intValue(v, "worker-timeout-ms", 5000),
                ConfigKeys.intValue(v, "kv-reserve-tokens", 2048),
                ConfigKeys.intValue(v, "max-kv-blocks", 0),
                ConfigKeys.intValue(v, "replicas", 0));
    }

    private static void range(String key, long value, long min, long max) {
        if (value < min || value > max) {
            throw new ConfigKeyException(key, "must be in [" + min + ", " + max + "], got " + value);
        }
    }
}
