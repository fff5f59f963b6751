package dev.shardline.cli.client;

import dev.shardline.model.engine.TextDelta;
import dev.shardline.proto.v1.ChatMessage;
import dev.shardline.proto.v1.ChatRequest;
import dev.shardline.proto.v1.Finished;
import dev.shardline.proto.v1.GenerateRequest;
import dev.shardline.proto.v1.GenerateResponse;
import dev.shardline.proto.v1.GetClusterStatusRequest;
import dev.shardline.proto.v1.GetClusterStatusResponse;
import dev.shardline.proto.v1.InferenceGrpc;
import dev.shardline.proto.v1.SamplingParams;
import dev.shardline.proto.v1.TokenIds;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** A blocking client of the {@code shardline.v1.Inference} API, for the CLI and the benchmark. */
public final class ClusterClient implements AutoCloseable {
    private final ManagedChannel channel;
    private final InferenceGrpc.InferenceBlockingStub stub;

    public ClusterClient(String address) {
        this.channel = NettyChannelBuilder.forTarget(address).usePlaintext().maxInboundMessageSize(64 << 20).build();
        this.stub = InferenceGrpc.newBlockingStub(channel);
    }

    /** One finished generation: ids, text, reasoning/answer parts, the end event, and client-side timings. */
    public record Result(List<Integer> tokenIds, String text, String reasoning, String answer, Finished finished,
                         long firstTokenNanos, List<Long> tokenNanos, long startNanos, long endNanos) {
    }

    public Result generate(GenerateRequest request, Consumer<TextDelta> out) {
        return collect(stub.generate(request), out);
    }

    public Result chat(ChatRequest request, Consumer<TextDelta> out) {
        return collect(stub.chat(request), out);
    }

    public static GenerateRequest tokens(int[] ids, SamplingParams sampling) {
        TokenIds.Builder t = TokenIds.newBuilder();
        for (int id : ids) t.addIds(id);
        return GenerateRequest.newBuilder().setPromptTokenIds(t).setSampling(sampling).build();
    }

    public static GenerateRequest text(String prompt, SamplingParams sampling) {
        return GenerateRequest.newBuilder().setPromptText(prompt).setSampling(sampling).build();
    }

    public static ChatRequest chat(String system, String user, SamplingParams sampling) {
        ChatRequest.Builder b = ChatRequest.newBuilder().setSampling(sampling).setIncludeReasoning(true);
        if (system != null) b.addMessages(ChatMessage.newBuilder().setRole("system").setContent(system));
        b.addMessages(ChatMessage.newBuilder().setRole("user").setContent(user));
        return b.build();
    }

    public GetClusterStatusResponse status() {
        return stub.getClusterStatus(GetClusterStatusRequest.getDefaultInstance());
    }

    private static Result collect(Iterator<GenerateResponse> it, Consumer<TextDelta> out) {
        long start = System.nanoTime();
        long first = 0;
        List<Long> times = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        StringBuilder answer = new StringBuilder();
        Finished finished = null;
        while (it.hasNext()) {
            GenerateResponse r = it.next();
            if (r.hasDelta()) {
                long now = System.nanoTime();
                if (first == 0 && r.getDelta().getTokenIdsCount() > 0) first = now;
                for (int i = 0; i < r.getDelta().getTokenIdsCount(); i++) times.add(now);
                ids.addAll(r.getDelta().getTokenIdsList());
                text.append(r.getDelta().getTextDelta());
                reasoning.append(r.getDelta().getReasoningDelta());
                answer.append(r.getDelta().getAnswerDelta());
                if (out != null) out.accept(new TextDelta(r.getDelta().getReasoningDelta(), r.getDelta().getAnswerDelta()));
            } else if (r.hasFinished()) {
                finished = r.getFinished();
            }
        }
        return new Result(ids, text.toString(), reasoning.toString(), answer.toString(), finished, first, times, start,
                System.nanoTime());
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
