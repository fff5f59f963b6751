package dev.shardline.operator.resource;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.model.annotation.SpecReplicas;

/**
 * What the user asks for. Absent optional fields take the defaults in {@link Defaults} (the API server also fills
 * the schema's defaults; the operator does not rely on it).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.minPipelines) || !has(self.maxPipelines) || self.minPipelines <= self.maxPipelines",
        message = "minPipelines must not exceed maxPipelines")
public record InferenceClusterSpec(
        @Required @Pattern("^\\S+$") @JsonPropertyDescription("the shardline image (coordinator, worker and operator are its subcommands)")
        String image,
        @JsonPropertyDescription("Always, IfNotPresent (default) or Never")
        PullPolicy imagePullPolicy,
        @Required @JsonPropertyDescription("where the checkpoint comes from")
        ModelSource model,
        @Required @JsonPropertyDescription("the worker pods of every pipeline")
        WorkerTemplate workers,
        @Min(1) @Max(64) @JsonPropertyDescription("worker pods (stages) per pipeline; the coordinator's planner splits the layers among them. Omitted with workers.memoryBudget set: the fewest workers of that budget that hold the model, as the coordinator's planner answers (status.stages); omitted without a budget: 1")
        Integer stages,
        @SpecReplicas @Min(0) @Max(256) @JsonPropertyDescription("pipelines wanted when the built-in autoscaler is off (the /scale subresource sets it), default 1")
        Integer pipelines,
        @Min(0) @Max(256) @JsonPropertyDescription("fewest pipelines (0 allows scale to zero), default 0")
        Integer minPipelines,
        @Min(0) @Max(256) @JsonPropertyDescription("most pipelines, default 4")
        Integer maxPipelines,
        @JsonPropertyDescription("the built-in autoscaler (off: spec.pipelines, e.g. from KEDA or an HPA, decides)")
        Autoscaling autoscaling,
        @JsonPropertyDescription("the coordinator's pod")
        CoordinatorTemplate coordinator,
        @JsonPropertyDescription("the Kafka batch front end (absent: none)")
        KafkaSource kafka,
        @JsonPropertyDescription("a Secret key holding the HTTP API keys, comma separated (absent: the API is open)")
        SecretKeyRef apiKeySecret,
        @Min(1) @Max(86400) @JsonPropertyDescription("how long a draining pipeline's running requests may take, default 120; pods get this plus 30 s of grace")
        Integer drainTimeoutSeconds) {

    /** Image pull policy, as Kubernetes spells it. */
    public enum PullPolicy { Always, IfNotPresent, Never }
}
