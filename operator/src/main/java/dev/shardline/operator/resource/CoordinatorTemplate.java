package dev.shardline.operator.resource;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

import java.util.Map;

/** The coordinator's pod. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CoordinatorTemplate(
        ResourceRequirements resources,
        @JsonPropertyDescription("further coordinator keys (e.g. max-running: \"128\"), as SHARDLINE_COORDINATOR_* variables; the operator's own keys cannot be overridden")
        Map<String, String> config) {
}
