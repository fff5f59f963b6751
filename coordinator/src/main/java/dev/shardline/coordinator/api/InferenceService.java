package dev.shardline.coordinator.api;

import dev.shardline.coordinator.cluster.Cluster;
import dev.shardline.coordinator.cluster.PipelineRunner;
import dev.shardline.coordinator.cluster.RegisteredWorker;
import dev.shardline.coordinator.cluster.WorkerRegistry;
import dev.shardline.coordinator.plan.PipelinePlan;
import dev.shardline.coordinator.plan.StagePlan;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.model.chat.ChatMessage;
import dev.shardline.model.chat.ToolCall;
import dev.shardline.model.engine.TextAssembler;
import dev.shardline.model.json.Json;
import dev.shardline.model.sampling.SamplingOverrides;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.proto.stage.v1.SamplerParams;
import dev.shardline.proto.v1.ChatRequest;
import dev.shardline.proto.v1.GenerateRequest;
import dev.shardline.proto.v1.GenerateResponse;
import dev.shardline.proto.v1.GetClusterStatusRequest;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.InferenceGrpc;
import dev.shardline.proto.v1.ListModelsRequest;
import dev.shardline.proto.v1.ListModelsResponse;
import dev.shardline.proto.v1.ModelInfo;
import dev.shardline.proto.v1.ShardPlan;
import dev.shardline.proto.v1.StageLoad;
import dev.shardline.proto.v1.TokenizeRequest;
import dev.shardline.proto.v1.TokenizeResponse;
import dev.shardline.proto.v1.WorkerInfo;
import dev.shardline.proto.v1.WorkerState;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The client API ({@code shardline.v1.Inference}): validates each request (every field by name), renders chats
 * with the model's template, submits to the least-loaded pipeline and streams tokens back. A client that cancels
 * or whose deadline passes has its sequence cancelled, which frees its KV blocks on every stage.
 */
public final class InferenceService extends InferenceGrpc.InferenceImplBase {
    /** max_tokens when a request sets none: vLLM-like "until the context is full", capped for sanity. */
    static final int DEFAULT_MAX_TOKENS = 4096;

    private final ServedModel model;
    private final WorkerRegistry registry;
    private volatile Cluster cluster;

    public InferenceService(ServedModel model, WorkerRegistry registry) {
        this.model = model;
        this.registry = registry;
    }

    /** Called once the workers are assigned; until then generation answers UNAVAILABLE. */
    public void ready(Cluster cluster) {
        this.cluster = cluster;
    }

    private Cluster cluster() {
        Cluster c = cluster;
        if (c == null) {
            throw new IllegalStateException("the cluster is still starting: workers are registering or loading");
        }
        return c;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> response) {
        try {
            checkModel(request.getModel());
            int[] prompt = switch (request.getPromptCase()) {
                case PROMPT_TEXT -> model.tokenizer().encode(request.getPromptText());
                case PROMPT_TOKEN_IDS -> request.getPromptTokenIds().getIdsList().stream().mapToInt(Integer::intValue).toArray();
                case PROMPT_NOT_SET -> throw ApiErrors.invalid("prompt", "set prompt_text or prompt_token_ids");
            };
            start(prompt, request.getSampling(), request.getIncludeReasoning(), request.getLogprobs(), response);
        } catch (RuntimeException e) {
            response.onError(ApiErrors.toStatus(e));
        }
    }

    @Override
    public void chat(ChatRequest request, StreamObserver<GenerateResponse> response) {
        try {
            checkModel(request.getModel());
            if (request.getMessagesCount() == 0) {
                throw ApiErrors.invalid("messages", "at least one message is needed");
            }
            List<ChatMessage> messages = new ArrayList<>();
            for (dev.shardline.proto.v1.ChatMessage m : request.getMessagesList()) {
                List<ToolCall> calls = new ArrayList<>();
                for (dev.shardline.proto.v1.ToolCall c : m.getToolCallsList()) {
                    calls.add(ToolCall.parsed(c.getName(), c.getArgumentsJson()));
                }
                messages.add(new ChatMessage(m.getRole(), m.getContent(), calls));
            }
            List<Object> tools = new ArrayList<>();
            for (int i = 0; i < request.getToolsJsonCount(); i++) {
                try {
                    tools.add(Json.parse(request.getToolsJson(i)));
                } catch (RuntimeException e) {
                    throw ApiErrors.invalid("tools_json[" + i + "]", e.getMessage());
                }
            }
            int[] prompt = model.tokenizer().encode(model.chatTemplate().render(messages, tools, true));
            start(prompt, request.getSampling(), true, request.getLogprobs(), response);
        } catch (RuntimeException e) {
            response.onError(ApiErrors.toStatus(e));
        }
    }

    private void start(int[] prompt, dev.shardline.proto.v1.SamplingParams s, boolean reasoning, boolean logprobs,
                       StreamObserver<GenerateResponse> response) {
        if (prompt.length == 0) {
            throw ApiErrors.invalid("prompt", "is empty");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= model.config().vocabSize()) {
                throw ApiErrors.invalid("prompt_token_ids[" + i + "]", prompt[i] + " is outside the vocabulary [0, "
                        + model.config().vocabSize() + ")");
            }
        }
        SamplingParams params = resolve(s, prompt.length);
        PipelineRunner runner = cluster().choose();
        if (runner == null) {
            throw new IllegalStateException("no pipeline is up");
        }
        ServerCallStreamObserver<GenerateResponse> out = (ServerCallStreamObserver<GenerateResponse>) response;
        GenerationStream stream = new GenerationStream(out, new TextAssembler(model.tokenizer(), params.stop(), reasoning),
                reasoning, logprobs, prompt.length);
        Set<Integer> stopIds = new HashSet<>(params.stopTokenIds());
        Request request = new Request(prompt, params.maxTokens(), s.getPriority(), stopIds, Set.copyOf(model.eosTokenIds()),
                params.ignoreEos());
        long id = runner.submit(request, samplerParams(params), stream);
        out.setOnCancelHandler(() -> runner.cancel(id));   // client cancel and deadline expiry both land here
    }

    private SamplingParams resolve(dev.shardline.proto.v1.SamplingParams s, int promptLength) {
        int context = model.config().maxPositionEmbeddings();
        long kvTokens = (long) cluster().kvBlocksPerPipeline() * cluster().pipelines().getFirst().blockSize();
        int maxTokens = s.hasMaxTokens() ? s.getMaxTokens()
                : (int) Math.max(1, Math.min(DEFAULT_MAX_TOKENS, Math.min(context, kvTokens) - promptLength));
        if (promptLength >= context) {
            throw ApiErrors.invalid("prompt", promptLength + " tokens do not fit the model's context of " + context);
        }
        if (s.hasMaxTokens() && (s.getMaxTokens() < 1 || promptLength + s.getMaxTokens() > context)) {
            throw ApiErrors.invalid("sampling.max_tokens", s.getMaxTokens() + " with a " + promptLength
                    + "-token prompt exceeds the context of " + context + " tokens (at most " + (context - promptLength) + ")");
        }
        if (promptLength + (long) maxTokens > kvTokens) {
            throw ApiErrors.invalid(s.hasMaxTokens() ? "sampling.max_tokens" : "prompt", "prompt " + promptLength
                    + " + max_tokens " + maxTokens + " exceeds the KV cache of a pipeline (" + kvTokens + " tokens)");
        }
        SamplingOverrides o = new SamplingOverrides(
                s.hasTemperature() ? s.getTemperature() : null, s.hasTopK() ? s.getTopK() : null,
                s.hasTopP() ? s.getTopP() : null, s.hasMinP() ? s.getMinP() : null,
                s.hasPresencePenalty() ? s.getPresencePenalty() : null,
                s.hasFrequencyPenalty() ? s.getFrequencyPenalty() : null,
                s.hasRepetitionPenalty() ? s.getRepetitionPenalty() : null,
                s.hasSeed() ? s.getSeed() : null, maxTokens, s.getStopList(),
                Set.copyOf(s.getStopTokenIdsList()), s.getIgnoreEos());
        return model.defaults().merge(o);
    }

    private static SamplerParams samplerParams(SamplingParams p) {
        return SamplerParams.newBuilder().setTemperature(p.temperature()).setTopP(p.topP()).setTopK(p.topK())
                .setMinP(p.minP()).setPresencePenalty(p.presencePenalty()).setFrequencyPenalty(p.frequencyPenalty())
                .setRepetitionPenalty(p.repetitionPenalty())
                .setSeed(p.seed() != null ? p.seed() : System.nanoTime()).build();
    }

    private void checkModel(String requested) {
        if (!requested.isEmpty() && !requested.equals(model.id())) {
            throw ApiErrors.invalid("model", "unknown model \"" + requested + "\"; this cluster serves \"" + model.id() + "\"");
        }
    }

    @Override
    public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> response) {
        try {
            checkModel(request.getModel());
            TokenizeResponse.Builder b = TokenizeResponse.newBuilder();
            for (int id : model.tokenizer().encode(request.getText())) b.addTokenIds(id);
            response.onNext(b.build());
            response.onCompleted();
        } catch (RuntimeException e) {
            response.onError(ApiErrors.toStatus(e));
        }
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> response) {
        response.onNext(ListModelsResponse.newBuilder().addModels(ModelInfo.newBuilder().setId(model.id())
                .setArchitecture("Qwen2ForCausalLM").setContextLength(model.config().maxPositionEmbeddings())
                .setNumLayers(model.config().numHiddenLayers()).setVocabSize(model.config().vocabSize())).build());
        response.onCompleted();
    }

    @Override
    public void getClusterStatus(GetClusterStatusRequest request, StreamObserver<GetClusterStatusResponse> response) {
        GetClusterStatusResponse.Builder b = GetClusterStatusResponse.newBuilder();
        for (RegisteredWorker w : registry.all()) {
            b.addWorkers(WorkerInfo.newBuilder().setWorkerId(w.id()).setAddress(w.address())
                    .setBackend(w.offer().getBackend()).setMemoryBudgetBytes(w.offer().getMemoryBudgetBytes())
                    .setState(w.lost() ? WorkerState.WORKER_STATE_LOST : WorkerState.WORKER_STATE_READY)
                    .setLastHeartbeatAgeMs(w.lastHeardAgeMillis()));
        }
        ShardPlan.Builder plan = ShardPlan.newBuilder();
        Cluster cluster = this.cluster;
        if (cluster == null) {
            response.onNext(b.build());
            response.onCompleted();
            return;
        }
        int queue = 0;
        int running = 0;
        for (PipelinePlan p : cluster.plan().pipelines()) {
            PipelineRunner runner = cluster.pipelines().get(p.index());
            PipelineRunner.Snapshot snap = runner.snapshot();
            queue += snap.waiting();
            running += snap.running();
            dev.shardline.proto.v1.PipelinePlan.Builder pb = dev.shardline.proto.v1.PipelinePlan.newBuilder()
                    .setPipelineId(p.index()).setKvBlocks(snap.blocksTotal()).setBlockSize(runner.blockSize());
            for (int i = 0; i < p.stages().size(); i++) {
                StagePlan s = p.stages().get(i);
                pb.addStages(dev.shardline.proto.v1.StagePlan.newBuilder().setStageIndex(i).setWorkerId(s.workerId())
                        .setLayerStart(s.range().start()).setLayerEnd(s.range().end())
                        .setHasEmbedding(s.range().embedding()).setHasHead(s.range().head())
                        .setWeightBytes(s.weightBytes()).setKvCapacityTokens((long) snap.blocksTotal() * runner.blockSize()));
                b.addStageLoads(StageLoad.newBuilder().setPipelineId(p.index()).setStageIndex(i).setWorkerId(s.workerId())
                        .setBusyFraction(runner.stats().busyFraction(i)).setMicroBatchesInFlight(snap.inFlight())
                        .setKvBlocksUsed(snap.blocksUsed()).setKvBlocksTotal(snap.blocksTotal())
                        .setStepsCompleted(runner.stats().stepsCompleted()));
            }
            plan.addPipelines(pb);
        }
        response.onNext(b.setPlan(plan).setQueueDepth(queue).setRunningSequences(running).build());
        response.onCompleted();
    }
}
