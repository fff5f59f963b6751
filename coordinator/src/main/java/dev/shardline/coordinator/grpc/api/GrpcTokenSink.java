package dev.shardline.coordinator.grpc.api;

import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationDelta;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.TokenLogprob;
import dev.shardline.coordinator.generation.TokenSink;
import dev.shardline.proto.v1.FinishReason;
import dev.shardline.proto.v1.Finished;
import dev.shardline.proto.v1.GenerateResponse;
import dev.shardline.proto.v1.Timings;
import dev.shardline.proto.v1.TokenDelta;
import dev.shardline.proto.v1.TopLogprobs;
import dev.shardline.proto.v1.Usage;
import io.grpc.stub.ServerCallStreamObserver;

import java.util.List;

/**
 * A Generate/Chat response stream as a {@link TokenSink}: each delta waits for gRPC's flow control (the client
 * reads), so a client that stops reading holds back its own request only, until its buffer on the coordinator
 * overflows and the request is cancelled.
 */
final class GrpcTokenSink implements TokenSink {
    private final ServerCallStreamObserver<GenerateResponse> out;
    private final boolean includeReasoning;
    private final boolean logprobs;
    private final Object ready = new Object();
    private volatile boolean cancelled;

    GrpcTokenSink(ServerCallStreamObserver<GenerateResponse> out, boolean includeReasoning, boolean logprobs,
                  Runnable onCancel) {
        this.out = out;
        this.includeReasoning = includeReasoning;
        this.logprobs = logprobs;
        out.setOnReadyHandler(() -> {
            synchronized (ready) {
                ready.notifyAll();
            }
        });
        out.setOnCancelHandler(() -> {
            cancelled = true;
            synchronized (ready) {
                ready.notifyAll();
            }
            onCancel.run();                              // client cancel and deadline expiry both land here
        });
    }

    @Override
    public void onDelta(GenerationDelta d) throws InterruptedException {
        synchronized (ready) {
            while (!out.isReady() && !cancelled) {
                ready.wait();
            }
        }
        if (cancelled) return;
        TokenDelta.Builder b = TokenDelta.newBuilder()
                .setTextDelta(includeReasoning ? d.text() : d.answer())
                .setReasoningDelta(includeReasoning ? d.reasoning() : "")
                .setAnswerDelta(d.answer())
                .addAllTokenIds(d.tokenIds());
        if (logprobs) {
            b.addAllLogprobs(d.logprobs());
            for (List<TokenLogprob> alternatives : d.topLogprobs()) {
                TopLogprobs.Builder t = TopLogprobs.newBuilder();
                for (TokenLogprob a : alternatives) {
                    t.addAlternatives(dev.shardline.proto.v1.TokenLogprob.newBuilder().setTokenId(a.tokenId())
                            .setLogprob(a.logprob()).setText(a.text()));
                }
                b.addTopLogprobs(t);
            }
        }
        out.onNext(GenerateResponse.newBuilder().setDelta(b).build());
    }

    @Override
    public void onComplete(Completion c) {
        if (cancelled) return;
        FinishReason reason = switch (c.finishReason()) {
            case STOP -> FinishReason.FINISH_REASON_STOP;
            case LENGTH -> FinishReason.FINISH_REASON_LENGTH;
            case CANCELLED -> FinishReason.FINISH_REASON_CANCELLED;
        };
        out.onNext(GenerateResponse.newBuilder().setFinished(Finished.newBuilder().setFinishReason(reason)
                .setMatchedStop(c.matchedStop()).setMigrations(c.migrations())
                .setUsage(Usage.newBuilder().setPromptTokens(c.usage().promptTokens())
                        .setCompletionTokens(c.usage().completionTokens()).setReasoningTokens(c.usage().reasoningTokens()))
                .setTimings(Timings.newBuilder().setQueueMs(c.timings().queueMs())
                        .setTimeToFirstTokenMs(c.timings().timeToFirstTokenMs()).setTotalMs(c.timings().totalMs())))
                .build());
        out.onCompleted();
    }

    @Override
    public void onError(GenerationException e) {
        if (cancelled) return;
        out.onError(GrpcErrors.toStatus(e));
    }
}
