package dev.shardline.operator.resource;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.model.annotation.LabelSelector;
import io.fabric8.kubernetes.model.annotation.StatusReplicas;

import java.util.List;

/** What the operator saw and did, written after every reconcile. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record InferenceClusterStatus(
        @JsonPropertyDescription("the metadata.generation this status describes")
        Long observedGeneration,
        @JsonPropertyDescription("Ready, Progressing, Degraded, ScalingLimited")
        List<Condition> conditions,
        @StatusReplicas @JsonPropertyDescription("pipelines serving, as the coordinator reports")
        Integer readyPipelines,
        @JsonPropertyDescription("pipelines wanted now")
        Integer desiredPipelines,
        @JsonPropertyDescription("worker groups whose pods exist")
        Integer groups,
        @LabelSelector @JsonPropertyDescription("the worker pods' label selector (for the /scale subresource)")
        String selector,
        @JsonPropertyDescription("Kafka backlog tokens plus the tokens of requests waiting for a pipeline")
        Long backlogTokens,
        Integer waitingRequests,
        Double kvUsage,
        Double tokensPerSecondPerPipeline,
        @JsonPropertyDescription("the coordinator's plan: pipeline -> stage -> pod -> layers")
        List<PipelinePlan> plan,
        @JsonPropertyDescription("the last scaling decision, with its inputs and reason")
        ScalingRecord lastScaling,
        @JsonPropertyDescription("hash of the worker template the newest groups run")
        String templateHash,
        @JsonPropertyDescription("worker pods (stages) per pipeline in use: spec.stages, or the coordinator's planner's answer when spec.stages is omitted")
        Integer stages,
        @JsonPropertyDescription("where the stage count comes from, e.g. \"auto: 2 stages of 12.0 GiB for model X\"")
        String stagesReason) {

    /** One pipeline of the coordinator's plan. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record PipelinePlan(Integer id, String state, List<StagePlan> stages) {
    }

    /** One stage: the pod that runs it and its layers [start, end). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record StagePlan(Integer stage, String pod, Integer layerStart, Integer layerEnd) {
    }

    /** A scaling decision. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ScalingRecord(String time, Integer from, Integer to, String reason, Long backlogTokens,
                                Integer waitingRequests, Double kvUsage, Double tokensPerSecondPerPipeline,
                                String drainedGroup) {
    }
}
