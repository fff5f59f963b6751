package dev.shardline.coordinator.api;

import dev.shardline.coordinator.cluster.SequenceSink;
import dev.shardline.model.engine.FinishReason;
import dev.shardline.model.engine.TextAssembler;
import dev.shardline.model.engine.TextDelta;
import dev.shardline.proto.v1.Finished;
import dev.shardline.proto.v1.GenerateResponse;
import dev.shardline.proto.v1.Timings;
import dev.shardline.proto.v1.TokenDelta;
import dev.shardline.proto.v1.Usage;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * One request's response stream: each generated token becomes a {@link TokenDelta} (ids, text, and reasoning and
 * answer parts in chat mode), the end a {@link Finished} with usage and timings. Tokens that end the sequence on a
 * stop string report it, so the scheduler stops the sequence.
 */
final class GenerationStream implements SequenceSink {
    private final ServerCallStreamObserver<GenerateResponse> out;
    private final TextAssembler text;
    private final boolean reasoningMode;
    private final boolean logprobs;
    private final int promptTokens;
    private final long startNanos = System.nanoTime();
    private long firstTokenNanos;
    private int reasoningTokens;
    private volatile boolean done;

    GenerationStream(ServerCallStreamObserver<GenerateResponse> out, TextAssembler text, boolean reasoningMode,
                     boolean logprobs, int promptTokens) {
        this.out = out;
        this.text = text;
        this.reasoningMode = reasoningMode;
        this.logprobs = logprobs;
        this.promptTokens = promptTokens;
    }

    @Override
    public boolean onToken(int tokenId, float logprob) {
        if (firstTokenNanos == 0) {
            firstTokenNanos = System.nanoTime();
        }
        TextDelta d = text.push(tokenId);
        if (reasoningMode && !d.reasoning().isEmpty()) {
            reasoningTokens++;
        }
        send(tokenId, logprob, d);
        return text.stopped();
    }

    private void send(int tokenId, float logprob, TextDelta d) {
        if (done || out.isCancelled()) return;
        TokenDelta.Builder b = TokenDelta.newBuilder().setTextDelta(d.reasoning() + d.answer())
                .setReasoningDelta(d.reasoning()).setAnswerDelta(d.answer());
        if (tokenId >= 0) {
            b.addTokenIds(tokenId);
            if (logprobs) b.addLogprobs(logprob);
        }
        out.onNext(GenerateResponse.newBuilder().setDelta(b).build());
    }

    @Override
    public void onFinished(FinishReason reason, int generatedTokens, String error) {
        if (done) return;
        TextDelta rest = text.finish();
        if (!rest.reasoning().isEmpty() || !rest.answer().isEmpty()) {
            send(-1, 0, rest);
        }
        done = true;
        if (out.isCancelled()) return;
        long now = System.nanoTime();
        dev.shardline.proto.v1.FinishReason r = error != null ? dev.shardline.proto.v1.FinishReason.FINISH_REASON_ERROR
                : switch (reason) {
                    case STOP -> dev.shardline.proto.v1.FinishReason.FINISH_REASON_STOP;
                    case LENGTH -> dev.shardline.proto.v1.FinishReason.FINISH_REASON_LENGTH;
                    case CANCELLED -> dev.shardline.proto.v1.FinishReason.FINISH_REASON_CANCELLED;
                };
        Finished.Builder f = Finished.newBuilder().setFinishReason(r).setMatchedStop(text.matchedStop())
                .setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(generatedTokens)
                        .setReasoningTokens(reasoningTokens))
                .setTimings(Timings.newBuilder()
                        .setTimeToFirstTokenMs(firstTokenNanos == 0 ? 0 : (firstTokenNanos - startNanos) / 1e6)
                        .setTotalMs((now - startNanos) / 1e6));
        if (error != null) f.setError(error);
        out.onNext(GenerateResponse.newBuilder().setFinished(f).build());
        out.onCompleted();
    }
}
