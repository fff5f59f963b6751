package dev.shardline.operator.desired;

import dev.shardline.operator.resource.Autoscaling;
import dev.shardline.operator.resource.CoordinatorTemplate;
import dev.shardline.operator.resource.InferenceClusterSpec;
import dev.shardline.operator.resource.KafkaSource;
import dev.shardline.operator.resource.ModelSource;
import dev.shardline.operator.resource.SecretKeyRef;
import dev.shardline.operator.resource.WorkerTemplate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A spec with its defaults applied and checked once (the schema checks the same on a real API server; the operator
 * does not rely on that). Every field the operator uses comes from here.
 *
 * <p>With {@code autoStages} (spec.stages omitted, workers.memoryBudget set) the stage count comes from the
 * coordinator's planner: {@code stages} is 0 until {@link #withPlannedStages} supplies the answer, and only settings
 * with stages > 0 may be turned into worker pods.
 *
 * @param memoryBudgetBytes workers.memoryBudget in bytes (binary units, as the worker reads it); 0 when absent
 * @param stagesReason      where the stage count comes from, for the status
 */
public record Settings(String image, String pullPolicy, ModelSource model, String modelDir, WorkerTemplate workers,
                       String backend, String weights, int threads, String memoryBudget, int startupSeconds,
                       int stages, int pipelines, int minPipelines, int maxPipelines, boolean autoscale,
                       Targets targets, Map<String, String> coordinatorConfig, CoordinatorTemplate coordinator,
                       KafkaSource kafka, SecretKeyRef apiKeySecret, int drainTimeoutSeconds, String templateHash,
                       boolean autoStages, long memoryBudgetBytes, String stagesReason) {

    /** Most stages per pipeline (the schema's bound, and the most the operator asks the planner for). */
    public static final int MAX_STAGES = 64;
    /** The mount point of the model volume in every pod. */
    public static final String MODEL_MOUNT = "/models";
    /** Coordinator keys the operator sets itself (spec.coordinator.config may not override them). */
    static final Set<String> OWN_KEYS = Set.of("host", "port", "advertise-host", "model", "model-id", "workers",
            "pipelines", "drain-timeout-ms", "admin-token", "http-port", "api-keys", "api-keys-file");

    /** The autoscaler's targets, defaults applied. */
    public record Targets(long backlogTokensPerPipeline, int waitingRequestsPerPipeline, double kvUsageHigh,
                          int targetDrainSeconds, int scaleUpWindowSeconds, int scaleDownWindowSeconds,
                          int cooldownSeconds, int scaleToZeroAfterSeconds) {
    }

    public static Settings of(InferenceClusterSpec spec) {
        if (spec == null) throw new SpecException("", "missing");
        String image = require(spec.image(), "image");
        if (image.isBlank() || image.chars().anyMatch(Character::isWhitespace)) {
            throw new SpecException("image", "must be an image reference without spaces, got \"" + image + "\"");
        }
        ModelSource model = Objects.requireNonNullElseGet(spec.model(), () -> { throw new SpecException("model", "required"); });
        require(model.id(), "model.id");
        int sources = (model.pvc() != null ? 1 : 0) + (model.hostPath() != null ? 1 : 0) + (model.demo() != null ? 1 : 0);
        if (sources != 1) throw new SpecException("model", "set exactly one of model.pvc, model.hostPath and model.demo");
        if (model.pvc() != null) require(model.pvc().claimName(), "model.pvc.claimName");
        if (model.demo() != null) require(model.demo().preset(), "model.demo.preset");
        String sub = model.path() != null ? model.path() : model.demo() != null ? model.id() : "";
        if (sub.startsWith("/")) throw new SpecException("model.path", "must be relative to the volume, got " + sub);
        String modelDir = sub.isEmpty() ? MODEL_MOUNT : MODEL_MOUNT + "/" + sub;

        WorkerTemplate w = Objects.requireNonNullElseGet(spec.workers(), () -> { throw new SpecException("workers", "required"); });
        String budget = w.memoryBudget();
        if (budget != null && !budget.matches("[0-9]+(\\.[0-9]+)?([KMGT]i?)?")) {
            throw new SpecException("workers.memoryBudget", "must be a byte size like 40Gi, got " + budget);
        }
        int threads = range(w.threads(), 0, 0, 1024, "workers.threads");
        int startup = range(w.startupSeconds(), 1800, 60, 86400, "workers.startupSeconds");
        long budgetBytes = budget == null ? 0 : bytes(budget);
        boolean autoStages = spec.stages() == null && budgetBytes > 0;
        int stages = autoStages ? 0 : range(spec.stages(), 1, 1, MAX_STAGES, "stages");
        String stagesReason = spec.stages() != null ? "spec.stages"
                : autoStages ? "auto: waiting for the coordinator's planner"
                : "default 1 (set workers.memoryBudget to have the coordinator's planner choose)";
        int min = range(spec.minPipelines(), 0, 0, 256, "minPipelines");
        int max = range(spec.maxPipelines(), Math.max(4, min), 0, 256, "maxPipelines");
        if (min > max) throw new SpecException("minPipelines", "must not exceed maxPipelines (" + min + " > " + max + ")");
        int pipelines = range(spec.pipelines(), 1, 0, 256, "pipelines");
        int drain = range(spec.drainTimeoutSeconds(), 120, 1, 86400, "drainTimeoutSeconds");

        Autoscaling a = spec.autoscaling() != null ? spec.autoscaling()
                : new Autoscaling(null, null, null, null, null, null, null, null, null);
        double kvHigh = a.kvUsageHigh() != null ? a.kvUsageHigh() : 0.9;
        if (!(kvHigh >= 0 && kvHigh <= 1)) throw new SpecException("autoscaling.kvUsageHigh", "must be in [0, 1], got " + kvHigh);
        long backlog = a.backlogTokensPerPipeline() != null ? a.backlogTokensPerPipeline() : 20_000;
        if (backlog < 1) throw new SpecException("autoscaling.backlogTokensPerPipeline", "must be >= 1, got " + backlog);
        Targets targets = new Targets(backlog,
                range(a.waitingRequestsPerPipeline(), 4, 1, Integer.MAX_VALUE, "autoscaling.waitingRequestsPerPipeline"),
                kvHigh,
                range(a.targetDrainSeconds(), 300, 1, Integer.MAX_VALUE, "autoscaling.targetDrainSeconds"),
                range(a.scaleUpWindowSeconds(), 30, 0, Integer.MAX_VALUE, "autoscaling.scaleUpWindowSeconds"),
                range(a.scaleDownWindowSeconds(), 300, 0, Integer.MAX_VALUE, "autoscaling.scaleDownWindowSeconds"),
                range(a.cooldownSeconds(), 60, 0, Integer.MAX_VALUE, "autoscaling.cooldownSeconds"),
                range(a.scaleToZeroAfterSeconds(), 0, 0, Integer.MAX_VALUE, "autoscaling.scaleToZeroAfterSeconds"));

        CoordinatorTemplate c = spec.coordinator() != null ? spec.coordinator() : new CoordinatorTemplate(null, null);
        Map<String, String> extra = new TreeMap<>();
        if (c.config() != null) {
            for (Map.Entry<String, String> e : c.config().entrySet()) {
                if (!e.getKey().matches("[a-z][a-z0-9-]*")) {
                    throw new SpecException("coordinator.config." + e.getKey(), "keys are lower-case words joined by '-'");
                }
                if (OWN_KEYS.contains(e.getKey())) {
                    throw new SpecException("coordinator.config." + e.getKey(), "is set by the operator");
                }
                extra.put(e.getKey(), Objects.requireNonNullElse(e.getValue(), ""));
            }
        }
        if (spec.kafka() != null) require(spec.kafka().bootstrapServers(), "kafka.bootstrapServers");
        if (spec.apiKeySecret() != null) {
            require(spec.apiKeySecret().name(), "apiKeySecret.name");
            require(spec.apiKeySecret().key(), "apiKeySecret.key");
        }
        boolean autoscale = spec.autoscaling() != null && !Boolean.FALSE.equals(spec.autoscaling().enabled());
        String pull = spec.imagePullPolicy() != null ? spec.imagePullPolicy().name() : "IfNotPresent";
        String backend = w.backend() != null ? w.backend().name() : "cpu";
        String weights = w.weights() != null ? w.weights().name() : "copy";
        String hash = hash(image + "|" + pull + "|" + model + "|" + w + "|" + stages);
        return new Settings(image, pull, model, modelDir, w, backend, weights, threads, budget, startup, stages,
                pipelines, min, max, autoscale, targets, Map.copyOf(extra), c, spec.kafka(), spec.apiKeySecret(), drain, hash,
                autoStages, budgetBytes, stagesReason);
    }

    /** The coordinator planner's stage count for automatic stages, and the reason the status gives. */
    public record PlannedStages(int stages, String reason) {
        public static PlannedStages of(int stages, long budgetBytes, String modelId, long modelBytes) {
            return new PlannedStages(stages, String.format(java.util.Locale.ROOT,
                    "auto: %d stage%s of %.1f GiB for model %s (%.1f GiB on one worker)", stages, stages == 1 ? "" : "s",
                    budgetBytes / (double) (1L << 30), modelId, modelBytes / (double) (1L << 30)));
        }
    }

    /** What the planner's answer depends on: a change asks the coordinator again. */
    public String stagesKey() {
        return image + "|" + model + "|" + modelDir + "|" + memoryBudgetBytes;
    }

    /** These automatic settings with the coordinator's planned stage count (which enters the template hash). */
    public Settings withPlannedStages(int planned, String reason) {
        if (!autoStages) throw new IllegalStateException("stages are explicit (" + stages + ")");
        if (planned < 1 || planned > MAX_STAGES) {
            throw new SpecException("stages", "the coordinator planned " + planned + " stages, outside [1, " + MAX_STAGES + "]");
        }
        String hash = hash(image + "|" + pullPolicy + "|" + model + "|" + workers + "|" + planned);
        return new Settings(image, pullPolicy, model, modelDir, workers, backend, weights, threads, memoryBudget,
                startupSeconds, planned, pipelines, minPipelines, maxPipelines, autoscale, targets, coordinatorConfig,
                coordinator, kafka, apiKeySecret, drainTimeoutSeconds, hash, true, memoryBudgetBytes, reason);
    }

    /** A byte size as the worker reads it: K, M, G, T with or without "i" are powers of 1024. */
    static long bytes(String size) {
        String t = size.endsWith("i") ? size.substring(0, size.length() - 1) : size;
        long mult = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            case 'T' -> 1L << 40;
            default -> 1;
        };
        if (mult > 1) t = t.substring(0, t.length() - 1);
        return (long) (Double.parseDouble(t) * mult);
    }

    private static <T> T require(T value, String field) {
        if (value == null || value instanceof String s && s.isBlank()) throw new SpecException(field, "required");
        return value;
    }

    private static int range(Integer value, int fallback, int min, int max, String field) {
        int v = value != null ? value : fallback;
        if (v < min || v > max) throw new SpecException(field, "must be in [" + min + ", " + max + "], got " + v);
        return v;
    }

    /** What a worker pod runs: a change rolls the pipelines (10 hex digits of SHA-256). */
    static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 5);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
