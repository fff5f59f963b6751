package dev.shardline.coordinator.generation;

import dev.shardline.coordinator.schedule.PriorityClass;
import dev.shardline.model.sampling.SamplingOverrides;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One generation request, the same for every front end (gRPC, OpenAI HTTP, Kafka batch lines).
 *
 * @param model          the model id the client asked for; "" = the one served
 * @param sampling       sampling and stop values the request sets (null fields take the model's defaults), with
 *                       top_logprobs (alternatives per token, 0..20, needs logprobs) and logit_bias (token id -> bias
 *                       in [-100, 100] added to its logit)
 * @param logprobs       return each token's log-probability
 * @param priorityClass  interactive (default) or batch
 * @param priority       within the class, higher first
 * @param tenant         who asked (the API key's identity), for logs and limits; "" = anonymous
 * @param endUser        the client's own end user (OpenAI's {@code user}), for the request log; "" = none
 * @param deadline       how long the request may take from submission; null = no limit
 * @param requestId      the client's id, for logs; may be ""
 * @param forcedTokenIds test hook: the first generated tokens are these ids (refused unless test hooks are on)
 * @param reasoningOpen  raw prompts only: generation starts inside a reasoning block (the prompt opened
 *                       {@code <think>}); chat prompts always do with QwQ's template
 */
public record GenerationRequest(String model, Prompt prompt, SamplingOverrides sampling, boolean logprobs,
                                PriorityClass priorityClass, int priority,
                                String tenant, String endUser, Duration deadline, String requestId, List<Integer> forcedTokenIds,
                                boolean reasoningOpen) {

    public GenerationRequest {
        model = model == null ? "" : model;
        sampling = sampling == null ? SamplingOverrides.none() : sampling;
        priorityClass = priorityClass == null ? PriorityClass.INTERACTIVE : priorityClass;
        tenant = tenant == null ? "" : tenant;
        endUser = endUser == null ? "" : endUser;
        requestId = requestId == null ? "" : requestId;
        forcedTokenIds = forcedTokenIds == null ? List.of() : List.copyOf(forcedTokenIds);
    }

    public static Builder builder(Prompt prompt) {
        return new Builder(prompt);
    }

    /** Builds a request field by field; unset fields take their defaults. */
    public static final class Builder {
        private final Prompt prompt;
        private String model = "";
        private SamplingOverrides sampling = SamplingOverrides.none();
        private Map<Integer, Float> logitBias;
        private boolean logprobs;
        private Integer topLogprobs;
        private PriorityClass priorityClass = PriorityClass.INTERACTIVE;
        private int priority;
        private String tenant = "";
        private String endUser = "";
        private Duration deadline;
        private String requestId = "";
        private List<Integer> forced = List.of();
        private boolean reasoningOpen;

        private Builder(Prompt prompt) {
            this.prompt = prompt;
        }

        public Builder model(String v) { model = v; return this; }
        /** Also settable in the overrides; set it in one place. */
        public Builder sampling(SamplingOverrides v) { sampling = v; return this; }
        public Builder logitBias(Map<Integer, Float> v) { logitBias = v; return this; }
        /** {@code top}: alternatives per token (also settable in the overrides; set it in one place). */
        public Builder logprobs(boolean v, int top) { logprobs = v; topLogprobs = top; return this; }
        public Builder logprobs(boolean v) { logprobs = v; return this; }
        public Builder priority(PriorityClass c, int p) { priorityClass = c; priority = p; return this; }
        public Builder tenant(String v) { tenant = v; return this; }
        public Builder endUser(String v) { endUser = v; return this; }
        public Builder deadline(Duration v) { deadline = v; return this; }
        public Builder requestId(String v) { requestId = v; return this; }
        public Builder forcedTokenIds(List<Integer> v) { forced = v; return this; }
        public Builder reasoningOpen(boolean v) { reasoningOpen = v; return this; }

        public GenerationRequest build() {
            SamplingOverrides o = sampling;
            if (topLogprobs != null || logitBias != null) {
                if ((topLogprobs != null && o.topLogprobs() != null) || (logitBias != null && o.logitBias() != null)) {
                    throw new IllegalStateException("top_logprobs or logit_bias set both on the builder and in the overrides");
                }
                o = new SamplingOverrides(o.temperature(), o.topK(), o.topP(), o.minP(), o.presencePenalty(),
                        o.frequencyPenalty(), o.repetitionPenalty(), o.seed(), o.maxTokens(), o.stop(), o.stopTokenIds(),
                        o.ignoreEos(), topLogprobs != null ? topLogprobs : o.topLogprobs(),
                        logitBias != null ? logitBias : o.logitBias());
            }
            return new GenerationRequest(model, prompt, o, logprobs, priorityClass, priority, tenant, endUser, deadline,
                    requestId, forced, reasoningOpen);
        }
    }
}
