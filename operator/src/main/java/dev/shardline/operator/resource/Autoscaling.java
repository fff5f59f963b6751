package dev.shardline.operator.resource;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** The built-in autoscaler's targets (see {@code dev.shardline.operator.autoscale.ScalingPolicy}). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Autoscaling(
        @JsonPropertyDescription("on (default) or off (spec.pipelines decides)")
        Boolean enabled,
        @Min(1) @JsonPropertyDescription("backlog tokens one pipeline should carry, default 20000")
        Long backlogTokensPerPipeline,
        @Min(1) @JsonPropertyDescription("requests waiting for a pipeline that justify one more, default 4")
        Integer waitingRequestsPerPipeline,
        @Min(0) @Max(1) @JsonPropertyDescription("KV usage above which one pipeline is added, default 0.9")
        Double kvUsageHigh,
        @Min(1) @JsonPropertyDescription("seconds the backlog should take to drain at the measured tokens/s per pipeline, default 300")
        Integer targetDrainSeconds,
        @Min(0) @JsonPropertyDescription("seconds a higher recommendation must hold before scaling up, default 30")
        Integer scaleUpWindowSeconds,
        @Min(0) @JsonPropertyDescription("seconds a lower recommendation must hold before scaling down, default 300")
        Integer scaleDownWindowSeconds,
        @Min(0) @JsonPropertyDescription("seconds after any scaling before the next, default 60")
        Integer cooldownSeconds,
        @Min(0) @JsonPropertyDescription("idle seconds (no backlog, nothing running) before scaling to minPipelines even if 0; 0 = never below 1, default 0")
        Integer scaleToZeroAfterSeconds) {
}
