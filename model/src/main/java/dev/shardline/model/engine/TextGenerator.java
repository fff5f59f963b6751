package dev.shardline.model.engine;

import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.sampling.Sampler;
import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.model.sampling.TokenHistory;
import dev.shardline.model.tokenizer.Tokenizer;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Text in, text out, streamed: samples each token ({@link Sampler}), decodes it without splitting UTF-8 characters
 * ({@link StreamingDecoder}), cuts at stop strings ({@link StopChecker}) and, in chat mode, splits reasoning from
 * answer ({@link ReasoningParser}; QwQ's template opens {@code <think>}, so generation starts inside it).
 *
 * <p>Sampling covers only ids the tokenizer can decode: checkpoints pad the embedding (QwQ: 152064 rows for 151669
 * tokens) and a padding row must never be emitted. Special tokens (EOS and the like) are not part of the text.
 */
public final class TextGenerator {
    private final Qwen2Forward forward;
    private final Tokenizer tokenizer;
    private final List<Integer> eosTokenIds;

    /** {@code tokenizer} null: ids in and out only (no text, no stop strings), as llama.cpp's "none" vocabulary. */
    public TextGenerator(Qwen2Forward forward, Tokenizer tokenizer, List<Integer> eosTokenIds) {
        this.forward = forward;
        this.tokenizer = tokenizer;
        this.eosTokenIds = List.copyOf(eosTokenIds);
    }

    public TextResult generate(int[] prompt, SamplingParams params, boolean chatReasoning, Consumer<TextDelta> out) {
        params.validate();
        if (tokenizer == null && (!params.stop().isEmpty() || chatReasoning)) {
            throw new dev.shardline.model.source.NoTokenizerException("this checkpoint has no tokenizer: stop strings "
                    + "and chat need text; give token ids and stop token ids only");
        }
        int vocab = tokenizer == null ? forward.config().vocabSize()
                : Math.min(forward.config().vocabSize(), tokenizer.vocabSize());
        Sampler sampler = new Sampler(params);
        TokenHistory history = TokenHistory.ofPrompt(prompt);
        TextAssembler text = tokenizer == null ? null : new TextAssembler(tokenizer, params.stop(), chatReasoning);
        NextToken next = logits -> sampler.sample(logits, 0, vocab, history).id();
        TokenListener listener = token -> {
            if (text == null) return true;
            emit(text.push(token), out);
            return !text.stopped();
        };
        GenerationResult g;
        try (Engine engine = new Engine(forward, EngineOptions.forContext(prompt.length + params.maxTokens(), 1))) {
            g = engine.generate(prompt, params.maxTokens(), stopIds(params), next, listener);
        }
        if (text == null) {
            return new TextResult(prompt.clone(), g.tokens(), "", null, "", g.finishReason(), g);
        }
        emit(text.finish(), out);
        FinishReason reason = text.stopped() ? FinishReason.STOP : g.finishReason();
        return new TextResult(prompt.clone(), g.tokens(), text.text(), text.reasoning(), text.answer(), reason, g);
    }

    private static void emit(TextDelta d, Consumer<TextDelta> out) {
        if (!d.reasoning().isEmpty() || !d.answer().isEmpty()) {
            out.accept(d);
        }
    }

    private Set<Integer> stopIds(SamplingParams params) {
        Set<Integer> ids = new HashSet<>(params.stopTokenIds());
        if (!params.ignoreEos()) {
            ids.addAll(eosTokenIds);
        }
        return ids;
    }

}
