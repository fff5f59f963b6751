package dev.shardline.coordinator.grpc.api;

import dev.shardline.coordinator.cluster.ClusterReconciler;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.GenerationHandle;
import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.coordinator.generation.GenerationService;
import dev.shardline.coordinator.generation.Prompt;
import dev.shardline.coordinator.generation.ServedModel;
import dev.shardline.coordinator.schedule.PriorityClass;
import dev.shardline.model.chat.ChatMessage;
import dev.shardline.model.chat.ToolCall;
import dev.shardline.model.json.Json;
import dev.shardline.model.json.JsonException;
import dev.shardline.model.sampling.SamplingOverrides;
import dev.shardline.proto.v1.ChatRequest;
import dev.shardline.proto.v1.GenerateRequest;
import dev.shardline.proto.v1.GenerateResponse;
import dev.shardline.proto.v1.GetClusterStatusRequest;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.InferenceGrpc;
import dev.shardline.proto.v1.ListModelsRequest;
import dev.shardline.proto.v1.ListModelsResponse;
import dev.shardline.proto.v1.ModelInfo;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.proto.v1.TokenizeRequest;
import dev.shardline.proto.v1.TokenizeResponse;
import dev.shardline.coordinator.cluster.ClusterStatus;
import dev.shardline.coordinator.cluster.TokenRate;
import dev.shardline.coordinator.metrics.ServingFigures;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.function.Supplier;
import java.util.HashSet;
import java.util.List;

/**
 * The client API ({@code shardline.v1.Inference}) as a thin adapter over the {@link GenerationService}: proto in,
 * {@link GenerationRequest} out; deltas and the end back as stream messages; domain errors as statuses
 * ({@link GrpcErrors}). A client that cancels, or whose deadline passes, has its generation cancelled.
 */
public final class InferenceGrpcService extends InferenceGrpc.InferenceImplBase {
    private final GenerationService generation;
    private final ClusterReconciler cluster;
    private final java.util.function.Supplier<dev.shardline.coordinator.batch.Backlog> batchBacklog;

    private final Supplier<ServingFigures> serving;
    private final java.util.function.Function<ClusterStatus, TokenRate.Rates> rates;

    /**
     * @param serving      the request figures of /metrics now, for status calls
     * @param rates        the throughput over the last minute, sampled at a status (ADR 0010)
     * @param batchBacklog the Kafka consumer group's backlog for the status (zero without Kafka)
     */
    public InferenceGrpcService(GenerationService generation, ClusterReconciler cluster, Supplier<ServingFigures> serving,
                                java.util.function.Function<ClusterStatus, TokenRate.Rates> rates,
                                Supplier<dev.shardline.coordinator.batch.Backlog> batchBacklog) {
        this.serving = serving;
        this.rates = rates;
        this.generation = generation;
        this.cluster = cluster;
        this.batchBacklog = batchBacklog;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> response) {
        Prompt prompt = switch (request.getPromptCase()) {
            case PROMPT_TEXT -> new Prompt.Text(request.getPromptText());
            case PROMPT_TOKEN_IDS -> new Prompt.Tokens(request.getPromptTokenIds().getIdsList().stream()
                    .mapToInt(Integer::intValue).toArray());
            case PROMPT_NOT_SET -> null;
        };
        if (prompt == null) {
            response.onError(GrpcErrors.invalid("prompt", "set prompt_text or prompt_token_ids"));
            return;
        }
        start(base(prompt, request.getModel(), request.getSampling(), request.getLogprobs(), request.getRequestId(),
                request.getPriorityClass()).reasoningOpen(request.getIncludeReasoning()).build(),
                request.getIncludeReasoning(), request.getLogprobs(), response);
    }

    @Override
    public void chat(ChatRequest request, StreamObserver<GenerateResponse> response) {
        List<ChatMessage> messages = new ArrayList<>();
        List<Object> tools = new ArrayList<>();
        try {
            for (int i = 0; i < request.getMessagesCount(); i++) {
                dev.shardline.proto.v1.ChatMessage m = request.getMessages(i);
                List<ToolCall> calls = new ArrayList<>();
                for (int j = 0; j < m.getToolCallsCount(); j++) {
                    dev.shardline.proto.v1.ToolCall c = m.getToolCalls(j);
                    try {
                        calls.add(ToolCall.parsed(c.getName(), c.getArgumentsJson()));
                    } catch (JsonException e) {
                        throw GrpcErrors.invalid("messages[" + i + "].tool_calls[" + j + "].arguments_json", e.getMessage());
                    }
                }
                messages.add(new ChatMessage(m.getRole(), m.getContent(), calls));
            }
            for (int i = 0; i < request.getToolsJsonCount(); i++) {
                try {
                    tools.add(Json.parse(request.getToolsJson(i)));
                } catch (JsonException e) {
                    throw GrpcErrors.invalid("tools_json[" + i + "]", e.getMessage());
                }
            }
        } catch (io.grpc.StatusRuntimeException e) {
            response.onError(e);
            return;
        }
        start(base(new Prompt.Chat(messages, tools, ""), request.getModel(), request.getSampling(), request.getLogprobs(),
                request.getRequestId(), request.getPriorityClass()).build(), request.getIncludeReasoning(),
                request.getLogprobs(), response);
    }

    private static GenerationRequest.Builder base(Prompt prompt, String model, SamplingParams s, boolean logprobs,
                                                  String requestId, dev.shardline.proto.v1.PriorityClass c) {
        SamplingOverrides o = new SamplingOverrides(
                s.hasTemperature() ? s.getTemperature() : null, s.hasTopK() ? s.getTopK() : null,
                s.hasTopP() ? s.getTopP() : null, s.hasMinP() ? s.getMinP() : null,
                s.hasPresencePenalty() ? s.getPresencePenalty() : null,
                s.hasFrequencyPenalty() ? s.getFrequencyPenalty() : null,
                s.hasRepetitionPenalty() ? s.getRepetitionPenalty() : null,
                s.hasSeed() ? s.getSeed() : null, s.hasMaxTokens() ? s.getMaxTokens() : null,
                s.getStopCount() > 0 ? List.copyOf(s.getStopList()) : null,
                s.getStopTokenIdsCount() > 0 ? new HashSet<>(s.getStopTokenIdsList()) : null,
                s.getIgnoreEos() ? Boolean.TRUE : null);
        return GenerationRequest.builder(prompt).model(model).sampling(o).logitBias(s.getLogitBiasMap())
                .logprobs(logprobs, s.getTopLogprobs())
                .priority(c == dev.shardline.proto.v1.PriorityClass.PRIORITY_CLASS_BATCH ? PriorityClass.BATCH
                        : PriorityClass.INTERACTIVE, s.getPriority())
                .tenant("grpc").requestId(requestId).forcedTokenIds(s.getForcedTokenIdsList());
    }

    private void start(GenerationRequest request, boolean includeReasoning, boolean logprobs,
                       StreamObserver<GenerateResponse> response) {
        ServerCallStreamObserver<GenerateResponse> out = (ServerCallStreamObserver<GenerateResponse>) response;
        GenerationHandle[] handle = new GenerationHandle[1];
        GrpcTokenSink sink = new GrpcTokenSink(out, includeReasoning, logprobs, () -> {
            if (handle[0] != null) handle[0].cancel();
        });
        try {
            handle[0] = generation.submit(request, sink);
            if (out.isCancelled()) handle[0].cancel();
        } catch (GenerationException e) {
            response.onError(GrpcErrors.toStatus(e));
        }
    }

    @Override
    public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> response) {
        ServedModel model = generation.model();
        if (!request.getModel().isEmpty() && !request.getModel().equals(model.id())) {
            response.onError(GrpcErrors.toStatus(new GenerationException.ModelNotFound("the model \"" + request.getModel()
                    + "\" does not exist; this cluster serves \"" + model.id() + "\"")));
            return;
        }
        TokenizeResponse.Builder b = TokenizeResponse.newBuilder();
        for (int id : generation.tokenize(request.getText())) b.addTokenIds(id);
        response.onNext(b.build());
        response.onCompleted();
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> response) {
        ServedModel model = generation.model();
        response.onNext(ListModelsResponse.newBuilder().addModels(ModelInfo.newBuilder().setId(model.id())
                .setArchitecture("Qwen2ForCausalLM").setContextLength(model.config().maxPositionEmbeddings())
                .setNumLayers(model.config().numHiddenLayers()).setVocabSize(model.config().vocabSize())).build());
        response.onCompleted();
    }

    @Override
    public void getClusterStatus(GetClusterStatusRequest request, StreamObserver<GetClusterStatusResponse> response) {
        dev.shardline.coordinator.batch.Backlog b = batchBacklog.get();
        ClusterStatus status = cluster.status();
        response.onNext(StatusProtos.status(status, serving.get(), rates.apply(status)).toBuilder().setBatchBacklog(
                dev.shardline.proto.v1.BatchBacklog.newBuilder().setRecords(b.records()).setTokens(b.tokens())
                        .setExact(b.exact())).build());
        response.onCompleted();
    }
}
