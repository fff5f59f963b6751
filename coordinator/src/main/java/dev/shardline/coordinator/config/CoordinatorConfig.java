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
 * @param advertiseHost      host workers use to reach the coordinator (default: host; this machine's address when
 *                           host is a wildcard)
 * @param model              checkpoint directory (tokenizer, config; workers map the weights)
 * @param modelId            the name clients use in requests (default: the directory name)
 * @param workers            the first pipelines form once this many workers are ready (or after startupWaitMs)
 * @param pipelines          pipelines to aim for (0 = as many as the workers allow); changeable at run time
 * @param blockSize          tokens per KV block
 * @param tokenBudget        rows per micro-batch (decode tokens + prefill chunk tokens)
 * @param maxRunning         sequences holding KV blocks at once, per pipeline
 * @param activationDtype    bf16 (default, half the bytes) or f32 (bit-exact with one process)
 * @param maxMessageBytes    largest gRPC message between stages; prefill activations are chunked below it
 * @param heartbeatMs        worker heartbeat interval
 * @param workerTimeoutMs    a worker silent this long is lost
 * @param kvReserveTokens    KV tokens every stage must be able to hold for a plan to be accepted
 * @param maxKvBlocks        cap on KV blocks per pipeline (0 = the default cap of 1024 blocks)
 * @param startupWaitMs      how long the first plan waits for {@code workers} before it forms what it can
 * @param queueTimeoutMs     how long a request waits for a pipeline that can serve it before it fails UNAVAILABLE
 * @param drainTimeoutMs     how long running sequences get to finish on a draining pipeline before they migrate
 * @param canaryIntervalMs   an idle pipeline sends a one-token canary this often (readiness)
 * @param readinessWindowMs  ready while a pipeline completed a micro-batch this recently
 * @param assignRestMs       a worker whose assignment failed rests this long before it is used again
 * @param maxWaiting         requests waiting (not admitted) at most; more are refused as overloaded
 * @param maxPromptTokens    longest prompt accepted, in tokens (0 = the model's context); a limit on what one
 *                           request may cost the cluster, below the context
 * @param sinkBufferTokens   tokens a consumer may fall behind before its request is cancelled
 * @param adminToken         bearer token required by the Admin service ("" = none)
 * @param testHooks          accept forced token ids in requests (tests only)
 * @param requestLog         log one JSON line per finished request (tenant, user, tokens, timings)
 * @param httpPort           port of the OpenAI-compatible HTTP API (default 8000; 0 picks a free one)
 * @param httpMaxBodyBytes   largest HTTP request body; larger ones are refused with 413
 * @param apiKeys            HTTP API keys, comma-separated {@code [name=]secret} or {@code [name=]sha256:<hex>}
 *                           ("" with no file = the API is open)
 * @param apiKeysFile        a file of such keys, one per line ("" = none)
 * @param batch              batch jobs through Kafka ({@link BatchConfig}; off without {@code kafka-bootstrap})
 */
public record CoordinatorConfig(String host, int port, String advertiseHost, Path model, String modelId, int workers,
                                int pipelines, int blockSize, int tokenBudget, int maxRunning, String activationDtype,
                                int maxMessageBytes, int heartbeatMs, int workerTimeoutMs, long kvReserveTokens,
                                int maxKvBlocks, long startupWaitMs, long queueTimeoutMs, long drainTimeoutMs,
                                long canaryIntervalMs, long readinessWindowMs, long assignRestMs, int maxWaiting, int maxPromptTokens,
                                int sinkBufferTokens, String adminToken, boolean testHooks, boolean requestLog, int httpPort,
                                long httpMaxBodyBytes, String apiKeys, String apiKeysFile, BatchConfig batch) {

    /** Default cap on KV blocks per pipeline when the config sets none (16 tokens each: 16k tokens). */
    public static final int DEFAULT_MAX_KV_BLOCKS = 1024;

    public static final Set<String> KEYS = union(BatchConfig.KEYS, Set.of("host", "port", "advertise-host", "model", "model-id", "workers",
            "pipelines", "block-size", "token-budget", "max-running", "activation-dtype", "max-message-bytes",
            "heartbeat-ms", "worker-timeout-ms", "kv-reserve-tokens", "max-kv-blocks", "startup-wait-ms",
            "queue-timeout-ms", "drain-timeout-ms", "canary-interval-ms", "readiness-window-ms", "assign-rest-ms",
            "max-waiting", "max-prompt-tokens", "sink-buffer-tokens", "admin-token", "test-hooks", "request-log", "http-port", "http-max-body-bytes", "api-keys",
            "api-keys-file"));

    public CoordinatorConfig {
        range("port", port, 0, 65535);
        range("workers", workers, 1, 1024);
        range("pipelines", pipelines, 0, 1024);
        range("block-size", blockSize, 1, 4096);
        range("token-budget", tokenBudget, 1, 1 << 20);
        range("max-running", maxRunning, 1, 1 << 16);
        range("max-message-bytes", maxMessageBytes, 4096, 1 << 30);
        range("heartbeat-ms", heartbeatMs, 10, 600_000);
        range("worker-timeout-ms", workerTimeoutMs, heartbeatMs, 3_600_000);
        range("max-kv-blocks", maxKvBlocks, 0, Integer.MAX_VALUE);
        range("startup-wait-ms", startupWaitMs, 0, 86_400_000L);
        range("queue-timeout-ms", queueTimeoutMs, 0, 86_400_000L);
        range("drain-timeout-ms", drainTimeoutMs, 0, 86_400_000L);
        range("canary-interval-ms", canaryIntervalMs, 50, 3_600_000L);
        range("readiness-window-ms", readinessWindowMs, canaryIntervalMs, 3_600_000L);
        range("assign-rest-ms", assignRestMs, 0, 3_600_000L);
        range("max-waiting", maxWaiting, 1, 1 << 24);
        range("max-prompt-tokens", maxPromptTokens, 0, Integer.MAX_VALUE);
        range("sink-buffer-tokens", sinkBufferTokens, 1, 1 << 24);
        range("http-port", httpPort, 0, 65535);
        range("http-max-body-bytes", httpMaxBodyBytes, 1024, 1L << 30);
        if (!activationDtype.equals("bf16") && !activationDtype.equals("f32")) {
            throw new ConfigKeyException("activation-dtype", "must be bf16 or f32, got " + activationDtype);
        }
        if (!batch.testCrash().isEmpty() && !testHooks) {
            throw new ConfigKeyException("batch-test-crash", "is a test hook: it needs test-hooks=true");
        }
        if (kvReserveTokens < 1) {
            throw new ConfigKeyException("kv-reserve-tokens", "must be >= 1, got " + kvReserveTokens);
        }
    }

    public static CoordinatorConfig parse(Map<String, String> env, Map<String, String> flags) {
        Map<String, String> v = new LinkedHashMap<>();
        Map<String, String> rest = new LinkedHashMap<>(flags);
        Map<String, String> kafkaClient = BatchConfig.takePassthrough(rest);
        ConfigKeys.fromEnv(env, "SHARDLINE_COORDINATOR_", KEYS, v);
        ConfigKeys.fromFlags(rest, KEYS, v);
        Path model = Path.of(ConfigKeys.require(v, "model"));
        String id = v.getOrDefault("model-id", model.toAbsolutePath().normalize().getFileName() == null ? "model"
                : model.toAbsolutePath().normalize().getFileName().toString());
        String host = v.getOrDefault("host", "127.0.0.1");
        String testHooks = v.getOrDefault("test-hooks", "false");
        if (!testHooks.equals("true") && !testHooks.equals("false")) {
            throw new ConfigKeyException("test-hooks", "must be true or false, got " + testHooks);
        }
        String requestLog = v.getOrDefault("request-log", "false");
        if (!requestLog.equals("true") && !requestLog.equals("false")) {
            throw new ConfigKeyException("request-log", "must be true or false, got " + requestLog);
        }
        return new CoordinatorConfig(
                host,
                ConfigKeys.intValue(v, "port", 0),
                v.getOrDefault("advertise-host", ""),
                model,
                id,
                ConfigKeys.intValue(v, "workers", 1),
                ConfigKeys.intValue(v, "pipelines", 0),
                ConfigKeys.intValue(v, "block-size", 16),
                ConfigKeys.intValue(v, "token-budget", 512),
                ConfigKeys.intValue(v, "max-running", 64),
                v.getOrDefault("activation-dtype", "bf16"),
                (int) ConfigKeys.bytesValue(v, "max-message-bytes", 4L << 20),
                ConfigKeys.intValue(v, "heartbeat-ms", 1000),
                ConfigKeys.intValue(v, "worker-timeout-ms", 5000),
                ConfigKeys.intValue(v, "kv-reserve-tokens", 2048),
                ConfigKeys.intValue(v, "max-kv-blocks", 0),
                ConfigKeys.intValue(v, "startup-wait-ms", 60_000),
                ConfigKeys.intValue(v, "queue-timeout-ms", 30_000),
                ConfigKeys.intValue(v, "drain-timeout-ms", 60_000),
                ConfigKeys.intValue(v, "canary-interval-ms", 2_000),
                ConfigKeys.intValue(v, "readiness-window-ms", 10_000),
                ConfigKeys.intValue(v, "assign-rest-ms", 30_000),
                ConfigKeys.intValue(v, "max-waiting", 4096),
                ConfigKeys.intValue(v, "max-prompt-tokens", 0),
                ConfigKeys.intValue(v, "sink-buffer-tokens", 4096),
                v.getOrDefault("admin-token", ""),
                Boolean.parseBoolean(testHooks),
                Boolean.parseBoolean(requestLog),
                ConfigKeys.intValue(v, "http-port", 8000),
                ConfigKeys.bytesValue(v, "http-max-body-bytes", 4L << 20),
                v.getOrDefault("api-keys", ""),
                v.getOrDefault("api-keys-file", ""),
                BatchConfig.parse(v, kafkaClient, "coordinator-" + host + "-" + v.getOrDefault("port", "0")));
    }

    /** KV blocks per pipeline at most. */
    public int kvBlockCap() {
        return maxKvBlocks > 0 ? maxKvBlocks : DEFAULT_MAX_KV_BLOCKS;
    }

    /** The keys this config accepts, for error messages. */
    public static String knownKeys() {
        return String.join(", ", new java.util.TreeSet<>(KEYS));
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        java.util.HashSet<String> s = new java.util.HashSet<>(a);
        s.addAll(b);
        return Set.copyOf(s);
    }

    private static void range(String key, long value, long min, long max) {
        if (value < min || value > max) {
            throw new ConfigKeyException(key, "must be in [" + min + ", " + max + "], got " + value);
        }
    }
}
