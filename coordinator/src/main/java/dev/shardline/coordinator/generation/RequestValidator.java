package dev.shardline.coordinator.generation;

import dev.shardline.coordinator.cluster.SamplerSpec;
import dev.shardline.coordinator.generation.GenerationException.ContextLengthExceeded;
import dev.shardline.coordinator.generation.GenerationException.InvalidRequest;
import dev.shardline.coordinator.schedule.Request;
import dev.shardline.model.chat.ChatMessage;
import dev.shardline.model.chat.ChatTemplateException;
import dev.shardline.model.sampling.InvalidSamplingException;
import dev.shardline.model.sampling.SamplingOverrides;
import dev.shardline.model.sampling.SamplingParams;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The one place that checks a generation request against the model and the cluster, and resolves it: the prompt
 * becomes token ids (tokenized, or rendered through the chat template), sampling values take the model's defaults,
 * max_tokens defaults to what remains of the context (and of the largest pipeline's KV cache), a seed is drawn when
 * none is given. Every error names the field, with OpenAI's names.
 */
public final class RequestValidator {
    private static final SplittableRandom SEEDS = new SplittableRandom();

    private final ServedModel model;
    private final boolean testHooks;
    private final int maxPromptTokens;

    public RequestValidator(ServedModel model, boolean testHooks) {
        this(model, testHooks, 0);
    }

    /** @param maxPromptTokens longest prompt accepted (0 = the model's context) */
    public RequestValidator(ServedModel model, boolean testHooks, int maxPromptTokens) {
        this.model = model;
        this.testHooks = testHooks;
        this.maxPromptTokens = maxPromptTokens;
    }

    /**
     * @param kvTokens the largest KV cache (tokens) of a pipeline serving or forming now; 0 when none is known (the
     *                 request then waits for one, checked against the context only)
     * @throws InvalidRequest (or a subtype) naming the field
     */
    public ValidatedRequest validate(GenerationRequest r, long kvTokens) {
        if (!r.model().isEmpty() && !r.model().equals(model.id())) {
            throw new GenerationException.ModelNotFound("the model \"" + r.model() + "\" does not exist; this cluster serves \""
                    + model.id() + "\"");
        }
        int vocab = model.config().vocabSize();
        int[] prompt = promptIds(r.prompt());
        if (prompt.length == 0) {
            throw new InvalidRequest("prompt", "the prompt is empty: at least one token is needed");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new InvalidRequest("prompt[" + i + "]", "token id " + prompt[i]
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        int context = model.config().maxPositionEmbeddings();
        if (prompt.length >= context) {
            throw new ContextLengthExceeded("prompt", "this model's maximum context length is " + context
                    + " tokens, and the prompt alone has " + prompt.length + " tokens");
        }
        if (maxPromptTokens > 0 && prompt.length > maxPromptTokens) {
            throw new ContextLengthExceeded("prompt", "this server accepts prompts of at most " + maxPromptTokens
                    + " tokens (max-prompt-tokens), and the prompt has " + prompt.length + " tokens");
        }
        long room = Math.min(context, kvTokens > 0 ? kvTokens : context) - prompt.length;
        if (room < 1) {
            throw new ContextLengthExceeded("prompt", "the prompt of " + prompt.length + " tokens leaves no room in the "
                    + "largest pipeline's KV cache of " + kvTokens + " tokens");
        }
        SamplingOverrides o = r.sampling();
        if (o.maxTokens() != null) {
            if (o.maxTokens() < 1) {
                throw new InvalidRequest("max_tokens", "must be at least 1, got " + o.maxTokens());
            }
            if ((long) prompt.length + o.maxTokens() > context) {
                throw new ContextLengthExceeded("max_tokens", "this model's maximum context length is " + context
                        + " tokens; the request asks for " + ((long) prompt.length + o.maxTokens()) + " (" + prompt.length
                        + " in the prompt, " + o.maxTokens() + " for the completion)");
            }
            if (kvTokens > 0 && (long) prompt.length + o.maxTokens() > kvTokens) {
                throw new ContextLengthExceeded("max_tokens", "prompt " + prompt.length + " + max_tokens " + o.maxTokens()
                        + " exceeds the largest pipeline's KV cache of " + kvTokens + " tokens (at most "
                        + (kvTokens - prompt.length) + ")");
            }
        }
        SamplingParams params = resolve(o, room);
        if (!r.logprobs()) {
            if (params.topLogprobs() > 0) {
                throw new InvalidRequest("top_logprobs", "needs logprobs to be true");
            }
        }
        checkSampling(r, params, vocab);
        long seed = params.seed() != null ? params.seed() : SEEDS.nextLong();
        Set<Integer> stopIds = new HashSet<>(params.stopTokenIds());
        Request scheduling = new Request(prompt, new int[0], params.maxTokens(), r.priorityClass(), r.priority(), -1,
                stopIds, Set.copyOf(model.eosTokenIds()), params.ignoreEos());
        int[] forced = r.forcedTokenIds().stream().mapToInt(Integer::intValue).toArray();
        SamplerSpec spec = new SamplerSpec(params.withSeed(seed), seed, prompt.length, forced);
        boolean reasoningOpen = r.prompt() instanceof Prompt.Chat c ? !c.assistantPrefix().contains("</think>")
                : r.reasoningOpen();
        return new ValidatedRequest(prompt, params.withSeed(seed), scheduling, spec, reasoningOpen);
    }

    private int[] promptIds(Prompt p) {
        return switch (p) {
            case Prompt.Tokens t -> t.ids();
            case Prompt.Text t -> {
                if (t.text() == null) throw new InvalidRequest("prompt", "the prompt text is missing");
                yield model.tokenizer().encode(t.text());
            }
            case Prompt.Chat c -> {
                if (c.messages().isEmpty()) {
                    throw new InvalidRequest("messages", "at least one message is needed");
                }
                for (int i = 0; i < c.messages().size(); i++) {
                    ChatMessage m = c.messages().get(i);
                    if (!Set.of(ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT, ChatMessage.TOOL).contains(m.role())) {
                        throw new InvalidRequest("messages[" + i + "].role", "must be system, user, assistant or tool, got \""
                                + m.role() + "\"");
                    }
                }
                String text;
                try {
                    text = model.chatTemplate().render(c.messages(), c.tools(), true);
                } catch (ChatTemplateException e) {
                    throw new InvalidRequest("messages", e.getMessage());
                }
                yield model.tokenizer().encode(text + c.assistantPrefix());
            }
        };
    }

    /** The model's defaults under the request's values; max_tokens defaults to the room left. */
    private SamplingParams resolve(SamplingOverrides o, long room) {
        try {
            SamplingParams p = model.defaults().merge(o);
            if (o.maxTokens() == null) {
                int fallback = (int) Math.min(Integer.MAX_VALUE - 1, room);
                Integer fileMax = model.defaults().maxNewTokens();
                p = p.withMaxTokens(fileMax != null ? (int) Math.min(fileMax, fallback) : fallback);
            }
            return p;
        } catch (InvalidSamplingException e) {
            throw new InvalidRequest(e.field(), e.getMessage());
        }
    }

    private void checkSampling(GenerationRequest r, SamplingParams p, int vocab) {
        for (int id : p.stopTokenIds()) {
            if (id >= vocab) {
                throw new InvalidRequest("stop_token_ids", "token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        for (int id : p.logitBias().keySet()) {
            if (id < 0 || id >= vocab) {
                throw new InvalidRequest("logit_bias", "token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        List<Integer> forced = r.forcedTokenIds();
        if (!forced.isEmpty()) {
            if (!testHooks) {
                throw new InvalidRequest("forced_token_ids", "is a test hook, and test hooks are off on this coordinator");
            }
            for (int id : forced) {
                if (id < 0 || id >= vocab) {
                    throw new InvalidRequest("forced_token_ids", "token id " + id + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
        }
    }
}
