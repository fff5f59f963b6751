package dev.shardline.operator.resource;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Toleration;

import java.util.List;
import java.util.Map;

/** One worker pod (one stage). A change here rolls the pipelines one at a time. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WorkerTemplate(
        @JsonPropertyDescription("cpu (default), reference or cuda")
        Backend backend,
        @Pattern("^[0-9]+(\\.[0-9]+)?([KMGT]i?)?$") @JsonPropertyDescription("bytes of weights + KV cache a worker may hold, e.g. 40Gi (default: the container's memory limit less 15%)")
        String memoryBudget,
        @Min(0) @Max(1024) @JsonPropertyDescription("compute threads (0 = the CPUs the container gets)")
        Integer threads,
        @JsonPropertyDescription("copy (default) or mmap")
        Weights weights,
        @JsonPropertyDescription("requests and limits, e.g. nvidia.com/gpu: 1")
        ResourceRequirements resources,
        Map<String, String> nodeSelector,
        List<Toleration> tolerations,
        @JsonPropertyDescription("extra affinity; the operator adds its own (a pipeline's pods close together, pipelines spread)")
        Affinity affinity,
        @JsonPropertyDescription("the node label a pipeline's pods share, e.g. topology.kubernetes.io/zone (default kubernetes.io/hostname is not forced)")
        String topologyKey,
        @Min(60) @Max(86400) @JsonPropertyDescription("seconds a worker may take to start and load its layers, default 1800")
        Integer startupSeconds) {

    /** The worker's compute backend. */
    public enum Backend { cpu, reference, cuda }

    /** How weights are held. */
    public enum Weights { copy, mmap }
}
